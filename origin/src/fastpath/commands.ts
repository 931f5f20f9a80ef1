import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Command, CommandOutput, ServicesCommand } from "../commands/types";
import type { Services } from "../services";
import { parseMeasurementUid } from "../intake/measurement-uid";
import {
  buildFingerprintSet,
  loadFingerprintDir,
  parseFingerprintCsv,
  type Fingerprint,
  type FingerprintKind,
  type FingerprintSet,
} from "./fingerprints";
import { parseMeasurementText } from "./normalize";
import { scoreMeasurement } from "./score";
import { isDict, own } from "./scoring/py";
import { dayPrefixes, reprocess, type ReprocessProgress } from "./pipeline/reprocess";
import { FastpathStore } from "./pipeline/store";
import { assertValidPrefix } from "../blobstore";
import { ObservationWriter } from "../observations/writer";

// CLI commands of the fastpath (docs/fastpath.md):
//   fingerprints load DIR | status          (ServicesCommand: the fingerprint tables)
//   fastpath score [--fingerprints DIR] FILE...   (no database)
//   fastpath reprocess (--since D [--until D] | --prefix P...)   (ServicesCommand underneath)

class UsageError extends Error {}

/** Our usage errors and node:util parseArgs's (unknown or malformed options). */
function isUsageError(err: unknown): err is Error {
  return err instanceof UsageError || (err as NodeJS.ErrnoException | null)?.code?.startsWith("ERR_PARSE_ARGS") === true;
}

function stdio(): CommandOutput {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    interactive: Boolean(process.stdout.isTTY),
  };
}

// ---------------------------------------------------------------------------------------------
// fingerprints

async function readCsvDir(dir: string): Promise<Record<FingerprintKind, Fingerprint[]>> {
  const out = {} as Record<FingerprintKind, Fingerprint[]>;
  for (const kind of ["dns", "http"] as const) {
    const file = path.join(dir, `fingerprints_${kind}.csv`);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    const list = parseFingerprintCsv(kind, text);
    // The tables are keyed by name: a repeated name would silently drop a fingerprint.
    const seen = new Set<string>();
    for (const fp of list) {
      if (seen.has(fp.name)) throw new UsageError(`fingerprints_${kind}.csv: fingerprint name "${fp.name}" appears twice`);
      seen.add(fp.name);
    }
    out[kind] = list;
  }
  return out;
}

export const fingerprintsCommand: ServicesCommand = {
  summary: "load blocking fingerprints (ooni/blocking-fingerprints CSV layout) into the fingerprint tables",
  usage: "fingerprints load DIR | fingerprints status",
  needsServices: true,
  async runWith(services: Services, args: string[], io: CommandOutput): Promise<number> {
    const [sub, ...rest] = args;
    const store = new FastpathStore(services.db);
    if (sub === "status") {
      const [dns, http] = await Promise.all([store.loadFingerprints("dns"), store.loadFingerprints("http")]);
      const inUse = services.fastpath?.stats().fingerprints ?? null;
      io.out(
        `${JSON.stringify({ dns: dns.length, http: http.length, checksum: await store.fingerprintsChecksum(), fastpath_in_use: inUse })}\n`,
      );
      return 0;
    }
    if (sub !== "load" || rest.length !== 1) {
      io.err(`usage: npm run cli -- ${fingerprintsCommand.usage}\n`);
      return 2;
    }
    // Relative to this process's directory (the origin's, when run through its admin socket).
    const dir = path.resolve(rest[0]!);
    let lists: Record<FingerprintKind, Fingerprint[]>;
    try {
      lists = await readCsvDir(dir);
    } catch (err) {
      io.err(`error: ${(err as Error).message}\nnothing was changed\n`);
      return 1;
    }
    const set = buildFingerprintSet(lists.dns, lists.http, { semantics: services.config.fastpath.matching });
    for (const s of set.skipped) io.err(`warning: fingerprint ${s.name}: regexp not usable in JavaScript (${s.reason}); it never matches\n`);
    await store.replaceFingerprints(lists);
    io.out(`loaded ${lists.dns.length} DNS and ${lists.http.length} HTTP fingerprints from ${dir}\n`);
    if (services.fastpath) {
      await services.fastpath.reloadFingerprints().then(
        () => io.out("the running fastpath uses them now\n"),
        (err: unknown) => io.err(`warning: the running fastpath could not reload yet (${(err as Error).message}); it retries\n`),
      );
    }
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------
// fastpath score

/** The measurement_uid to report and to date the measurement by. */
function uidFor(file: string, msm: unknown): string {
  const own_ = isDict(msm) ? own(msm, "measurement_uid") : undefined;
  if (typeof own_ === "string" && own_ !== "") return own_;
  const stem = path.basename(file).replace(/\.post$/, "");
  return parseMeasurementUid(stem) ? stem : "";
}

export async function scoreFiles(files: string[], fingerprints: FingerprintSet, io: CommandOutput): Promise<number> {
  let failed = 0;
  for (const file of files) {
    let measurements: unknown[];
    try {
      measurements = parseMeasurementText(await readFile(file, "utf8"));
    } catch (err) {
      io.err(`${file}: ${(err as Error).message}\n`);
      failed++;
      continue;
    }
    for (const msm of measurements) {
      const uid = uidFor(file, msm);
      const r = scoreMeasurement(msm, { fingerprints, measurementUid: uid || undefined });
      const testName = isDict(msm) ? own(msm, "test_name") : undefined;
      io.out(
        `${JSON.stringify({
          file,
          test_name: typeof testName === "string" ? testName : "",
          measurement_uid: uid,
          scores: r.scores,
          anomaly: r.anomaly,
          confirmed: r.confirmed,
          failure: r.failure,
          blocking_type: r.blocking_type,
        })}\n`,
      );
    }
  }
  return failed > 0 ? 1 : 0;
}

async function scoreCommand(args: string[], io: CommandOutput): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { fingerprints: { type: "string" }, strict: { type: "boolean", default: false } },
  });
  if (positionals.length === 0) throw new UsageError("fastpath score needs at least one FILE");
  const semantics = values.strict ? "strict" : "fastpath";
  // Without --fingerprints: an empty set, as a fresh origin whose tables are empty.
  const fingerprints = values.fingerprints
    ? await loadFingerprintDir(values.fingerprints, { semantics })
    : buildFingerprintSet([], [], { semantics });
  return scoreFiles(positionals, fingerprints, io);
}

// ---------------------------------------------------------------------------------------------
// fastpath reprocess

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function parseDay(v: string, what: string): Date {
  const d = new Date(`${v}T00:00:00Z`);
  if (!DAY.test(v) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) {
    throw new UsageError(`${what} must be a date YYYY-MM-DD (got ${JSON.stringify(v)})`);
  }
  return d;
}

export function reprocessPrefixes(args: string[]): { prefixes: string[]; batchRows: number } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      since: { type: "string" },
      until: { type: "string" },
      prefix: { type: "string", multiple: true },
      "batch-rows": { type: "string" },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const batchRows = values["batch-rows"] === undefined ? 10_000 : Number(values["batch-rows"]);
  if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 1_000_000) throw new UsageError("--batch-rows must be 1..1000000");
  const byPrefix = values.prefix ?? [];
  if (byPrefix.length > 0) {
    if (values.since || values.until) throw new UsageError("use either --since/--until or --prefix");
    for (const p of byPrefix) {
      try {
        assertValidPrefix(p);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    return { prefixes: byPrefix, batchRows };
  }
  if (!values.since) throw new UsageError("give --since YYYY-MM-DD [--until YYYY-MM-DD] or --prefix raw/…");
  const since = parseDay(values.since, "--since");
  const until = values.until ? parseDay(values.until, "--until") : new Date(Date.now() + 86_400_000);
  if (until <= since) throw new UsageError("--until must be after --since (it is exclusive)");
  if (until.getTime() - since.getTime() > 20 * 366 * 86_400_000) throw new UsageError("date range longer than 20 years");
  return { prefixes: dayPrefixes(since, until), batchRows };
}

function formatProgress(p: ReprocessProgress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.lines / p.elapsedMs) * 1000) : 0;
  const frac = p.bytesTotal > 0 ? p.bytes / p.bytesTotal : p.filesTotal > 0 ? p.files / p.filesTotal : 1;
  const width = 24;
  const filled = Math.round(frac * width);
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (
    `${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${p.files}/${p.filesTotal} files ` +
    `${mb(p.bytes)}/${mb(p.bytesTotal)} MB · ${p.rows.toLocaleString("en")} rows · ${rate.toLocaleString("en")} msm/s` +
    (p.unreadable ? ` · ${p.unreadable} unreadable` : "") +
    (p.excluded ? ` · ${p.excluded} not scored (ZZ/AS0)` : "") +
    (p.badFiles ? ` · ${p.badFiles} bad files` : "")
  );
}

export const fastpathReprocessCommand: ServicesCommand = {
  summary: "(used by `fastpath reprocess`) re-score archived JSONL from the blob store",
  usage: "fastpath-reprocess --since YYYY-MM-DD [--until YYYY-MM-DD] | --prefix raw/… [--batch-rows N]",
  needsServices: true,
  async runWith(services, args, io, signal): Promise<number> {
    let parsed: { prefixes: string[]; batchRows: number };
    try {
      parsed = reprocessPrefixes(args);
    } catch (err) {
      if (!isUsageError(err)) throw err;
      io.err(`error: ${(err as Error).message}\nusage: npm run cli -- ${FASTPATH_USAGE}\n`);
      return 2;
    }
    const cfg = services.config.fastpath;
    let lastPlain = 0;
    const summary = await reprocess(
      { blobs: services.blobs, store: new FastpathStore(services.db, cfg.faultClickhouseDownFile, new ObservationWriter(services.db, services.geoip)) },
      {
        prefixes: parsed.prefixes,
        batchRows: parsed.batchRows,
        workers: cfg.workers,
        semantics: cfg.matching,
        signal,
        onProgress: (p) => {
          if (io.interactive) io.out(`\r${formatProgress(p)}`);
          else if (Date.now() - lastPlain >= 2000 || p.files === p.filesTotal) {
            lastPlain = Date.now();
            io.out(`${formatProgress(p)}\n`);
          }
        },
        onProblem: (what) => io.err(`${io.interactive ? "\n" : ""}warning: ${what}\n`),
      },
    );
    if (io.interactive) io.out("\n");
    if (summary.filesTotal === 0) {
      io.out(`no .jsonl.gz files under ${parsed.prefixes.length === 1 ? parsed.prefixes[0] : `${parsed.prefixes.length} prefixes`}\n`);
      return 0;
    }
    io.out(
      `${summary.aborted ? "interrupted" : "done"}: ${summary.files} files, ${summary.lines} measurements, ` +
        `${summary.rows} rows written, ${summary.unreadable} unreadable, ${summary.excluded} not scored (ZZ/AS0), ${summary.badFiles} bad files, ` +
        `${(summary.elapsedMs / 1000).toFixed(1)} s\n`,
    );
    return summary.aborted ? 130 : summary.badFiles > 0 ? 1 : 0;
  },
};

/**
 * Runs a ServicesCommand the way the CLI does: inside the origin that owns this DATA_DIR (admin
 * socket) when one runs, otherwise here with services of our own (no background consumers).
 */
async function runServices(remoteName: string, command: ServicesCommand, args: string[], io: CommandOutput): Promise<number> {
  const { loadConfig } = await import("../config");
  const { adminSocketPath } = await import("../admin/protocol");
  const { runThroughSocket } = await import("../admin/client");
  const config = loadConfig();
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const remote = await runThroughSocket(adminSocketPath(config.dataDir), remoteName, args, io, abort.signal);
    if (remote !== null) return remote;
    const { createLogger } = await import("../logger");
    const { openServices, closeServices } = await import("../services");
    const services = await openServices(config, createLogger(config.logLevel === "info" ? "warn" : config.logLevel), {
      background: false,
    });
    try {
      return (await command.runWith(services, args, io, abort.signal)) ?? 0;
    } finally {
      await closeServices(services);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

const FASTPATH_USAGE =
  "fastpath score [--fingerprints DIR] [--strict] FILE... | " +
  "fastpath reprocess (--since YYYY-MM-DD [--until YYYY-MM-DD] | --prefix raw/…) [--batch-rows N]";

export const fastpathCommand: Command = {
  summary: "score measurement files (no database), or re-score archived measurements into ClickHouse",
  usage: FASTPATH_USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    const io = stdio();
    try {
      if (sub === "score") return await scoreCommand(rest, io);
      if (sub === "reprocess") {
        reprocessPrefixes(rest); // usage errors before touching the database
        return await runServices("fastpath-reprocess", fastpathReprocessCommand, rest, io);
      }
      throw new UsageError(sub ? `unknown subcommand ${JSON.stringify(sub)}` : "missing subcommand");
    } catch (err) {
      if (!isUsageError(err)) throw err;
      io.err(`error: ${(err as Error).message}\nusage: npm run cli -- ${FASTPATH_USAGE}\n`);
      return 2;
    }
  },
};
