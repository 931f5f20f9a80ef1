import type { Command } from "./types";

// The CLI's commands beyond `serve` and `config`, one module each. Add a line per command; the
// import is lazy so `--help` and config errors never load chDB or other heavy modules.
type Lazy = { summary: string; usage: string; load: () => Promise<Command> };

export const commandModules: Record<string, Lazy> = {};
commandModules.testhelper = {
  summary: "run a web-connectivity test helper (oohelperd protocol)",
  usage: "testhelper serve [--port P] [--host H] [--doh-url URL]",
  load: async () => (await import("./testhelper")).testhelperCommand,
};
