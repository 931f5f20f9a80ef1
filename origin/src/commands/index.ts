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

commandModules["legacy-helpers"] = {
  summary: "run the legacy test helpers tcp-echo and http-return-json-headers (middlebox tests)",
  usage: "legacy-helpers serve [--tcp-echo HOST:PORT] [--json-headers HOST:PORT]",
  load: async () => (await import("./legacy-helpers")).legacyHelpersCommand,
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

commandModules.fingerprints = {
  summary: "load blocking fingerprints (ooni/blocking-fingerprints CSVs) into ClickHouse, or show what is loaded",
  usage: "fingerprints load DIR | fingerprints status",
  load: async () => (await import("../fastpath/commands")).fingerprintsCommand,
};

commandModules.fastpath = {
  summary: "score measurement files (no database), or re-score archived measurements into ClickHouse",
  usage:
    "fastpath score [--fingerprints DIR] [--strict] FILE... | " +
    "fastpath reprocess (--since YYYY-MM-DD [--until YYYY-MM-DD] | --prefix raw/…) [--batch-rows N]",
  load: async () => (await import("../fastpath/commands")).fastpathCommand,
};

// The database half of `fastpath reprocess`, by name so the admin socket can run it inside the
// origin that owns the database (`fastpath` itself is a plain command: `score` needs no database).
commandModules["fastpath-reprocess"] = {
  summary: "(internal) the part of `fastpath reprocess` that runs where the database is",
  usage: "fastpath-reprocess --since YYYY-MM-DD [--until YYYY-MM-DD] | --prefix raw/… [--batch-rows N]",
  load: async () => (await import("../fastpath/commands")).fastpathReprocessCommand,
};

// OONI Pipeline v5 (docs/observations.md): observations are written by the fastpath (and its
// reprocess); the analysis can be rebuilt from them.
// `analysis changepoints` runs the changepoint detector over a range (docs/changepoints.md).
commandModules.analysis = {
  summary: "rebuild the web analysis (LoNI) of a date range from the stored observations, with a progress bar; run the changepoint detector",
  usage:
    "analysis reprocess --since YYYY-MM-DD [--until YYYY-MM-DD] [--probe-cc CC[,CC…]] | " +
    "analysis changepoints [--start YYYY-MM-DD[THH:MM]] [--end YYYY-MM-DD[THH:MM]] [--probe-cc CC[,CC…]]",
  load: async () => (await import("../changepoints/command")).withChangepoints((await import("../analysis/command")).analysisCommand),
};

// Operations (docs/operations.md): periodic jobs, external data updaters, table export.
commandModules.timers = {
  summary: "periodic jobs (uploader, updaters, backup): run them all, show their status, or run one now",
  usage: "timers [start] | timers status [--json] | timers run JOB [--trigger manual|systemd]",
  load: async () => (await import("../timers/command")).timersCommand,
};

// The database half of `timers run`, by name so the admin socket can run it inside the origin.
commandModules["timers-run"] = {
  summary: "(internal) one run of a timer job, where the database is",
  usage: "timers-run JOB [--trigger timer|manual|systemd]",
  load: async () => (await import("../timers/command")).timersRunCommand,
};

commandModules.update = {
  summary: "update external data now (CitizenLab lists, fingerprints, ASN metadata, GeoIP), atomically",
  usage: "update citizenlab|fingerprints|asnmeta|geoip [--source PATH|URL] [--dry-run] [--force]",
  load: async () => (await import("../timers/command")).updateCommand,
};

commandModules["update-run"] = {
  summary: "(internal) the part of `update` that runs where the database is",
  usage: "update-run citizenlab|fingerprints|asnmeta|geoip [--source PATH|URL] [--dry-run] [--force]",
  load: async () => (await import("../timers/command")).updateRunCommand,
};

commandModules.export = {
  summary: "export tables to the blob store as zstd-compressed CSV parts with a manifest",
  usage: "export TABLE... [--chunk-mb N] [--max-mb-per-s N]",
  load: async () => (await import("../export/command")).exportCommand,
};

// Anonymous credentials (docs/anonymous-credentials.md): a plain command, it needs no database.
commandModules.anoncred = {
  summary: "anonymous-credentials keys: generate, rotate (old versions kept for updates), show, export",
  usage: "anoncred keygen | anoncred rotate [--keep N] | anoncred status | anoncred export",
  load: async () => (await import("../anoncred/command")).anoncredCommand,
};
