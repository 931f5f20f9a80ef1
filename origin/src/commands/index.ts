import type { Command, ServicesCommand } from "./types";

// The CLI's commands beyond `serve` and `config`, one module each. Add an entry per command; the
// import is lazy so `--help` and config errors never load chDB or other heavy modules.
// `load` returns either a plain Command, or a ServicesCommand (needs the database etc.; the CLI
// runs it locally or through the running origin's admin socket — see commands/types.ts).
export interface LazyCommand {
  summary: string;
  usage: string;
  load: () => Promise<Command | ServicesCommand>;
}

export const commandModules: Record<string, LazyCommand> = {};

commandModules.testhelper = {
  summary: "run a web-connectivity test helper (oohelperd protocol)",
  usage: "testhelper serve [--port P] [--host H] [--doh-url URL]",
  load: async () => (await import("./testhelper")).testhelperCommand,
};

commandModules.accounts = {
  summary: "people's accounts: print an account id, set a role, expunge sessions",
  usage: "accounts id EMAIL | accounts set-role EMAIL user|admin | accounts expunge EMAIL",
  load: async () => (await import("../auth/command")).accountsCommand,
};

commandModules.db = {
  summary: "database status: engine, migrations, table row counts",
  usage: "db status",
  load: async () => (await import("./db-status")).dbStatusCommand,
};
