// Node side: find and read the bridge configuration file. `npm start` uses bridge-config/bridge.toml
// unless BRIDGE_CONFIG names another file.
import { readFileSync } from "node:fs";
import path from "node:path";
import { BridgeConfigError, parseBridgeConfigToml } from "./parse";
import type { BridgeConfig } from "./schema";

export { BridgeConfigError, renderWorkerConfig, validateBridgeConfig } from "./parse";
export type { BridgeConfig } from "./schema";

export const defaultBridgeConfigPath = path.join(import.meta.dirname, "bridge.toml");

export function bridgeConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.BRIDGE_CONFIG || defaultBridgeConfigPath);
}

export function loadBridgeConfig(file = bridgeConfigPath()): BridgeConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new BridgeConfigError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseBridgeConfigToml(text, file);
}
