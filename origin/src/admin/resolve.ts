import { commandModules } from "../commands/index";
import type { ServicesCommand } from "../commands/types";

export async function resolveServicesCommand(name: string): Promise<ServicesCommand | null> {
  const lazy = commandModules[name];
  if (!lazy) return null;
  const command = await lazy.load();
  return "needsServices" in command ? command : null;
}
