import path from "node:path";
import { parseArgs } from "node:util";
import type { Command, CommandOutput, ServicesCommand } from "../commands/types";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Services } from "../services";
import { isUpdaterName, runUpdater, UPDATERS } from "../updaters";
import { isJobName, JOBS } from "./jobs";
import { executeJob, localExecutor, startTimers, type JobExecutor } from "./service";
import { formatStatus, timersStatus } from "./status";

// CLI:
//   timers [start]                 run every periodic job in this process, until Ctrl-C
//   timers status [--json]         jobs, last runs, locks, next due times (reads files only)
//   timers run JOB [--trigger T]   one run now, under the job's lock (systemd units use this)
//   update NAME [--source S] [--dry-run] [--force]    one updater now, under its job's lock
// A job runs where the database is: inside the origin through its admin socket when one owns
// this DATA_DIR, otherwise in this process.

const EX_TEMPFAIL = 75;
const TIMERS_USAGE = "timers [start] | timers status [--json] | timers run JOB [--trigger manual|systemd]";
const UPDATE_USAGE = `update ${Object.keys(UPDATERS).join("|")} [--source PATH|URL] [--dry-run] [--force]`;

function stdio(): CommandOutput {
  return { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), interactive: Boolean(process.stdout.isTTY) };
}

async function quietLogger(config: Config): Promise<Logger> {
  const { createLogger } = await import("../logger");
  return createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
}

/** Through the origin's admin socket when it answers, else locally with services opened for the occasion. */
async function runWhereTheDatabaseIs(name: string, command: ServicesCommand, args: string[], io: CommandOutput, signal: AbortSignal): Promise<number> {
  const { loadConfig } = await import("../config");
  const { adminSocketPath } = await import("../admin/protocol");
  const { runThroughSocket } = await import("../admin/client");
  const config = loadConfig();
  const remote = await runThroughSocket(adminSocketPath(config.dataDir), name, args, io, signal);
  if (remote !== null) return remote;
  const { openServices, closeServices } = await import("../services");
  const services = await openServices(config, await quietLogger(config), { background: false });
  try {
    return (await command.runWith(services, args, io, signal)) ?? 0;
  } finally {
    await closeServices(services);
  }
}

function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return fn(abort.signal).finally(() => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
}

// ---------------------------------------------------------------------------------------------

/** `timers-run JOB [--trigger T]` — the part of `timers run` that needs the services. */
export const timersRunCommand: ServicesCommand = {
  summary: "(internal) one run of a timer job, where the database is",
  usage: "timers-run JOB [--trigger timer|manual|systemd]",
  needsServices: true,
  async runWith(services, args, io, signal) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { trigger: { type: "string", default: "manual" } } });
    const [job] = positionals;
    const trigger = values.trigger;
    if (!job || !isJobName(job) || positionals.length !== 1 || !(trigger === "timer" || trigger === "manual" || trigger === "systemd")) {
      io.err(`usage: npm run cli -- timers run JOB [--trigger manual|systemd] (jobs: ${Object.keys(JOBS).join(", ")})\n`);
      return 2;
    }
    const reason = JOBS[job].notConfigured(services.config);
    if (reason) {
      io.err(`${job}: ${reason}\n`);
      return 78; // EX_CONFIG
    }
    const r = await executeJob(services, job, { trigger, signal });
    if (r.outcome === "skipped_locked") {
      io.err(`${job}: not run: ${r.holder} is running it\n`);
      return EX_TEMPFAIL;
    }
    if (r.outcome === "failed") {
      io.err(`${job} failed after ${r.record.duration_s}s: ${r.error instanceof Error ? r.error.message : r.record.summary}\n`);
      return 1;
    }
    io.out(`${r.record.summary} (${r.record.duration_s}s)\n`);
    return 0;
  },
};

/** `update-run …` — the part of `update` that runs where the database is. */
export const updateRunCommand: ServicesCommand = {
  summary: "(internal) one updater run, where the database is",
  usage: UPDATE_USAGE.replace(/^update/, "update-run"),
  needsServices: true,
  async runWith(services: Services, args, io, signal) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: { source: { type: "string" }, "dry-run": { type: "boolean", default: false }, force: { type: "boolean", default: false } },
      });
    } catch (err) {
      io.err(`${(err as Error).message}\nusage: npm run cli -- ${UPDATE_USAGE}\n`);
      return 2;
    }
    const [name] = parsed.positionals;
    if (!name || !isUpdaterName(name) || parsed.positionals.length !== 1) {
      io.err(`usage: npm run cli -- ${UPDATE_USAGE}\n`);
      return 2;
    }
    const overrides = { source: parsed.values.source, dryRun: parsed.values["dry-run"], force: parsed.values.force };
    if (overrides.dryRun) {
      try {
        const r = await runUpdater(services, name, { ...overrides, signal });
        for (const w of r.warnings) io.err(`warning: ${w}\n`);
        io.out(`${r.summary}\n`);
        return 0;
      } catch (err) {
        io.err(`${name}: ${(err as Error).message}\n`);
        return 1;
      }
    }
    // A real update takes the timer job's lock and lands in its history, like a timer run.
    const r = await executeJob(services, name, { trigger: "manual", signal, overrides });
    if (r.outcome === "skipped_locked") {
      io.err(`${name}: not run: ${r.holder} is updating it right now\n`);
      return EX_TEMPFAIL;
    }
    if (r.outcome === "failed") {
      io.err(`${name} failed; the live data is unchanged:\n${r.error instanceof Error ? r.error.message : r.record.summary}\n`);
      return 1;
    }
    io.out(`${r.record.summary}\n`);
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------

async function startCommand(io: CommandOutput): Promise<number> {
  const { loadConfig } = await import("../config");
  const { createLogger } = await import("../logger");
  const { adminSocketPath } = await import("../admin/protocol");
  const { runThroughSocket } = await import("../admin/client");
  const config = loadConfig();
  const log = createLogger(config.logLevel, { service: "timers" });
  let local: Promise<Services> | null = null;
  const socket = adminSocketPath(config.dataDir);
  const quietIo: CommandOutput = {
    out: (t) => log.info({ output: t.trim() }, "timer job output"),
    err: (t) => log.warn({ output: t.trim() }, "timer job output"),
    interactive: false,
  };
  const execute: JobExecutor = async (name, signal) => {
    // Jobs go to the origin when it owns the data directory (embedded chDB admits one process).
    const code = await runThroughSocket(socket, "timers-run", [name, "--trigger", "timer"], quietIo, signal).catch((err: unknown) => {
      log.warn({ job: name, err: (err as Error).message }, "admin socket failed; running the job here");
      return null;
    });
    if (code !== null) return code === EX_TEMPFAIL ? "skipped_locked" : "ran";
    local ??= import("../services").then(({ openServices }) => openServices(config, log, { background: false }));
    return localExecutor(await local)(name, signal);
  };
  const timers = startTimers({ config, log }, execute);
  if (timers.jobs.length === 0) {
    io.err("no timer job is enabled and configured; see `npm run cli -- timers status`\n");
    await timers.stop();
    return 78;
  }
  io.out(`timers running: ${timers.jobs.join(", ")} (state in ${config.timers.dir}); Ctrl-C stops\n`);
  // The scheduler's timers are unref'd (in the origin, the server keeps the process alive); here
  // this one does, until a signal.
  const keepAlive = setInterval(() => {}, 3_600_000);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  clearInterval(keepAlive);
  io.out("stopping: waiting for running jobs…\n");
  await timers.stop();
  if (local) {
    const { closeServices } = await import("../services");
    await closeServices(await local);
  }
  return 0;
}

export const updateCommand: Command = {
  summary: "update external data now (CitizenLab lists, fingerprints, ASN metadata, GeoIP), atomically",
  usage: UPDATE_USAGE,
  async run(args) {
    const io = stdio();
    // A relative --source means relative to here, also when the origin (another directory) runs it.
    const resolved = [...args];
    for (let i = 0; i < resolved.length; i++) {
      const eq = resolved[i]!.startsWith("--source=");
      const value = eq ? resolved[i]!.slice("--source=".length) : resolved[i] === "--source" ? resolved[i + 1] : undefined;
      if (value === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^[^/\s]+@[^:\s]+:/.test(value)) continue;
      const abs = path.resolve(value);
      if (eq) resolved[i] = `--source=${abs}`;
      else resolved[++i] = abs;
    }
    return withSignals((signal) => runWhereTheDatabaseIs("update-run", updateRunCommand, resolved, io, signal));
  },
};

export const timersCommand: Command = {
  summary: "periodic jobs (uploader, updaters, backup): run them, show their status, or run one now",
  usage: TIMERS_USAGE,
  async run(args) {
    const io = stdio();
    const [sub = "start", ...rest] = args;
    if (sub === "start" && rest.length === 0) return startCommand(io);
    if (sub === "status") {
      const { values } = parseArgs({ args: rest, options: { json: { type: "boolean", default: false } } });
      const { loadConfig } = await import("../config");
      const rows = await timersStatus(loadConfig());
      io.out(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatStatus(rows));
      return 0;
    }
    if (sub === "run" && rest.length >= 1) {
      // Usage errors before opening the database.
      if (!isJobName(rest[0]!)) {
        io.err(`unknown job ${JSON.stringify(rest[0])} (jobs: ${Object.keys(JOBS).join(", ")})\nusage: npm run cli -- ${TIMERS_USAGE}\n`);
        return 2;
      }
      return withSignals((signal) => runWhereTheDatabaseIs("timers-run", timersRunCommand, rest, io, signal));
    }
    io.err(`usage: npm run cli -- ${TIMERS_USAGE}\n`);
    return 2;
  },
};
