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

commandModules.uploader = {
  summary: "archive the spool to the blob store (postcans + JSONL) and index it",
  usage: "uploader run [--all]",
  load: async () => (await import("../archive/command")).uploaderCommand,
};

commandModules.dev = {
  summary: "development helpers: synthetic fastpath rows for tests and benchmarks",
  usage: "dev seed-fastpath --rows N [--days D] [--seed S] [--end DATE] [--metadata] [--batch N]",
  load: async () => (await import("../dev/command")).devCommand,
};

commandModules.testlists = {
  summary: "load the CitizenLab URL test lists into the database",
  usage: "testlists load DIR [--dry-run]",
  load: async () => (await import("../testlists/command")).testlistsCommand,
};
