import { readFile, rm } from "node:fs/promises";
import type { BlobStore } from "../blobstore";
import type { Database } from "../db/clickhouse";
import type { Spool } from "../intake/spool";
import type { Logger } from "../logger";
import type { Services } from "../services";
import { buildArchive, type BuiltFile, type JsonlRow } from "./build";
import { JournalStore, type Journal } from "./journal";
import { archiveNumber, archivePrefix } from "./keys";
import { acquireUploaderLock } from "./lock";
import { ensureScored as defaultEnsureScored, NotScoredError, type EnsureScored } from "./scoring";
import { crashPoint, type UploaderStep } from "./steps";

// The archive uploader (docs/archive.md). For each spool hour directory, in this order:
//   plan    → journal: which uids, which file numbers (durable before anything else happens)
//   build   → postcans + JSONL files in a work directory
//   store   → blob store, each file verified with a HEAD of its size
//   index   → jsonl rows (ReplacingMergeTree: a repeat replaces)
//   score   → every measurement has its fastpath row
//   commit  → journal marked committed
//   delete  → the spool files, then the hour directory, then the journal
// Nothing is deleted before the commit, and everything before it can be repeated with identical
// results (same uids, same numbers, same bytes), so a crash anywhere loses nothing and duplicates
// nothing: the next run finishes the journal first.

export interface UploaderOptions {
  /** Also archive the current hour (tests, shutdown); default: only hours that are over. */
  all?: boolean;
  log?: Logger;
  signal?: AbortSignal;
  /** The scoring guard; default the fastpath pipeline's (archive/scoring.ts). */
  ensureScored?: EnsureScored;
  /** Clock for "the current hour" (tests). */
  now?: Date;
}

export interface HourDirReport {
  hourDir: string;
  /** This run continued an interrupted one (a journal was found). */
  resumed: boolean;
  measurements: number;
  files: number;
  /** Size of the .post files archived (0 when the run only finished deleting). */
  inputBytes: number;
  /** Size of the files written to the blob store. */
  storedBytes: number;
}

export interface UploaderReport {
  archived: HourDirReport[];
  failed: { hourDir: string; error: string }[];
}

const INSERT_BATCH = 10_000;
const DELETE_CONCURRENCY = 16;

/** "YYYYMMDDHH" in UTC, the prefix of hour directories of that hour. */
function hourStamp(d: Date): string {
  return d.toISOString().slice(0, 13).replace(/[-T]/g, "");
}

/** The first free N for a new run: every file already stored belongs to a finished run. */
async function nextFreeNumber(blobs: BlobStore, hourDir: string, collectorId: string): Promise<number> {
  const prefix = archivePrefix(hourDir, collectorId);
  let next = 0;
  for await (const info of blobs.list(prefix)) {
    const n = archiveNumber(info.key, prefix);
    if (n !== null && n >= next) next = n + 1;
  }
  return next;
}

async function storeFiles(blobs: BlobStore, files: BuiltFile[], crash: (s: UploaderStep) => void): Promise<number> {
  let stored = 0;
  for (const f of files) {
    const data = await readFile(f.file);
    await blobs.put(f.key, data, { contentType: "application/gzip" });
    // Trust the store's own view, not the absence of an error.
    const info = await blobs.head(f.key);
    if (!info || info.size !== data.length) {
      throw new Error(`blob store holds ${info ? `${info.size} bytes` : "nothing"} for ${f.key} after writing ${data.length}`);
    }
    stored += data.length;
    crash("storing");
  }
  return stored;
}

async function insertRows(db: Database, rows: JsonlRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    await db.client.insert({ table: "jsonl", values: rows.slice(i, i + INSERT_BATCH), format: "JSONEachRow" });
  }
}

async function deleteSpoolFiles(spool: Spool, journal: Journal, crash: (s: UploaderStep) => void): Promise<void> {
  const [first, ...rest] = journal.uids;
  if (first === undefined) return;
  // Absent is fine: a previous attempt deleted it before crashing.
  await spool.remove(journal.hourDir, first);
  crash("deleting");
  // Parallel removals share the spool's group-committed directory fsyncs.
  for (let i = 0; i < rest.length; i += DELETE_CONCURRENCY) {
    await Promise.all(rest.slice(i, i + DELETE_CONCURRENCY).map((uid) => spool.remove(journal.hourDir, uid)));
  }
}

interface Ctx {
  services: Services;
  journals: JournalStore;
  ensure: EnsureScored;
  log: Logger;
  signal: AbortSignal | undefined;
  crash: (s: UploaderStep) => void;
}

async function archiveHourDir(ctx: Ctx, hourDir: string): Promise<HourDirReport | null> {
  const { services, journals, log, signal, crash } = ctx;
  const { spool, blobs, db, config } = services;
  let journal = await journals.read(hourDir);
  const resumed = journal !== null;
  const report: HourDirReport = { hourDir, resumed, measurements: 0, files: 0, inputBytes: 0, storedBytes: 0 };

  if (!journal) {
    const uids = await spool.listFiles(hourDir);
    if (uids.length === 0) {
      await spool.removeHourDirIfEmpty(hourDir);
      return null;
    }
    journal = {
      v: 1,
      hourDir,
      collectorId: config.collectorId,
      firstN: await nextFreeNumber(blobs, hourDir, config.collectorId),
      canMaxBytes: config.uploader.canMaxBytes,
      uids,
      committed: false,
    };
    await journals.write(journal);
    crash("planned");
  } else {
    log.info({ hourDir, committed: journal.committed, measurements: journal.uids.length }, "uploader: resuming an interrupted run");
  }
  report.measurements = journal.uids.length;

  if (!journal.committed) {
    const built = await buildArchive(spool, journal, journals.workDir(hourDir), log, signal);
    crash("built");
    signal?.throwIfAborted();
    report.storedBytes = await storeFiles(blobs, built.files, crash);
    report.files = built.files.length;
    report.inputBytes = built.inputBytes;
    // The store has them now; a repeat rebuilds from the spool anyway.
    await rm(journals.workDir(hourDir), { recursive: true, force: true });
    crash("stored");
    signal?.throwIfAborted();
    await insertRows(db, built.rows);
    crash("indexed");
    // Every measurement of the run, also those the JSONL left out: the fastpath decides what it
    // can score, and the guard accepts only rows or "never scorable".
    await ctx.ensure(services, hourDir, journal.uids);
    crash("scored");
    journal = { ...journal, committed: true };
    await journals.write(journal);
    crash("committed");
  }

  await deleteSpoolFiles(spool, journal, crash);
  crash("deleted");
  // Fails quietly when something new arrived meanwhile: the next run archives it under the next N.
  await spool.removeHourDirIfEmpty(hourDir);
  crash("dir-removed");
  await journals.remove(hourDir);
  log.info(
    { hourDir, measurements: report.measurements, files: report.files, stored_bytes: report.storedBytes, resumed },
    "uploader: hour directory archived",
  );
  return report;
}

/**
 * Archives the spool: every hour directory that is over (or all of them with `all`), and first
 * every run a crash interrupted. Hour directories fail independently (reported in `failed`,
 * retried by the next run); a second uploader on the same spool gets UploaderBusyError.
 */
export async function runUploader(services: Services, opts: UploaderOptions = {}): Promise<UploaderReport> {
  const log = opts.log ?? services.log;
  const journals = new JournalStore(services.spool.root);
  const release = await acquireUploaderLock(journals.dir);
  const crashAt = services.config.uploader.crashAt;
  const ctx: Ctx = {
    services,
    journals,
    ensure: opts.ensureScored ?? defaultEnsureScored,
    log,
    signal: opts.signal,
    crash: (step) => crashPoint(step, crashAt),
  };
  const report: UploaderReport = { archived: [], failed: [] };
  try {
    const current = hourStamp(opts.now ?? new Date());
    const spoolDirs = (await services.spool.listHourDirs()).filter((d) => opts.all || d.slice(0, 10) < current);
    // Interrupted runs first (their journals), whatever their hour.
    const dirs = [...new Set([...(await journals.list()), ...spoolDirs])];
    for (const hourDir of dirs) {
      opts.signal?.throwIfAborted();
      try {
        const r = await archiveHourDir(ctx, hourDir);
        if (r) report.archived.push(r);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const error = err instanceof Error ? err.message : String(err);
        // Not yet scored is expected while the fastpath catches up; anything else is a fault.
        if (err instanceof NotScoredError) log.warn({ hourDir, error }, "uploader: waiting for the fastpath; spool files kept");
        else log.error({ hourDir, err }, "uploader: hour directory not archived; spool files kept");
        report.failed.push({ hourDir, error });
      }
    }
  } finally {
    await release();
  }
  return report;
}
