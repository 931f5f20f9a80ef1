import type { BlobStore } from "../../blobstore";
import type { MatchSemantics } from "../fingerprints";
import type { FastpathRow } from "../row";
import type { MeasurementObservations } from "../../observations";
import { gzipLines } from "./jsonl";
import { ScoringPool } from "./pool";
import type { ScoreItem } from "./score-item";
import { backoffMs } from "./sink";
import type { FastpathStore } from "./store";

// Re-scoring archived measurements (raw/{YYYYMMDD}/{HH}/{CC}/{testname}/*.jsonl.gz in the blob
// store) into the same fastpath rows the live pipeline writes: same decoding rules, same scorer,
// same row builder, and the table's ReplacingMergeTree replaces older rows. Large INSERTs (10,000
// rows by default, as upstream found ~25× faster than single rows), one in flight while the
// threads score the next batch.

export interface ReprocessOptions {
  /** Blob key prefixes to read (each listed; keys ending in .jsonl.gz are processed). */
  prefixes: string[];
  batchRows: number;
  workers: number;
  semantics: MatchSemantics;
  signal?: AbortSignal;
  /** Called after every file and at most once a second in between. */
  onProgress?(p: ReprocessProgress): void;
  /** A file or line that could not be used (the run goes on). */
  onProblem?(what: string): void;
}

export interface ReprocessProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  lines: number;
  rows: number;
  unreadable: number;
  /** Lines that get no row by rule (probe_cc ZZ, probe_asn AS0; ../excluded.ts). */
  excluded: number;
  badFiles: number;
  elapsedMs: number;
}

export interface ReprocessSummary extends ReprocessProgress {
  aborted: boolean;
}

/** Lines per message to a scoring thread. */
const CHUNK = 256;
const INSERT_ATTEMPTS = 8;

export function dayPrefixes(since: Date, until: Date): string[] {
  const out: string[] = [];
  for (let t = since.getTime(); t < until.getTime(); t += 86_400_000) {
    out.push(`raw/${new Date(t).toISOString().slice(0, 10).replaceAll("-", "")}/`);
  }
  return out;
}

/** ClickHouse hiccups are retried with backoff; a longer outage ends the run (re-running is safe). */
async function withRetry<T>(op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= INSERT_ATTEMPTS || signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, backoffMs(attempt)));
    }
  }
}

export async function reprocess(
  deps: { blobs: BlobStore; store: FastpathStore },
  opts: ReprocessOptions,
): Promise<ReprocessSummary> {
  const t0 = Date.now();
  const keys = new Map<string, number>();
  for (const prefix of opts.prefixes) {
    for await (const info of deps.blobs.list(prefix)) {
      if (info.key.endsWith(".jsonl.gz")) keys.set(info.key, info.size);
    }
  }
  const files = [...keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const p: ReprocessProgress = {
    files: 0,
    filesTotal: files.length,
    bytes: 0,
    bytesTotal: files.reduce((n, [, size]) => n + size, 0),
    lines: 0,
    rows: 0,
    unreadable: 0,
    excluded: 0,
    badFiles: 0,
    elapsedMs: 0,
  };
  const progress = () => {
    p.elapsedMs = Date.now() - t0;
    opts.onProgress?.({ ...p });
  };
  if (files.length === 0) return { ...p, aborted: false };

  const [dns, http] = await Promise.all([deps.store.loadFingerprints("dns"), deps.store.loadFingerprints("http")]);
  const pool = new ScoringPool(opts.workers, { onCrash: (err) => opts.onProblem?.(`scoring thread died: ${(err as Error).message}`) });
  pool.setFingerprints({ dns, http, semantics: opts.semantics, version: "" });

  let rows: FastpathRow[] = [];
  let observations: MeasurementObservations[] = [];
  let inserting: Promise<void> = Promise.resolve();
  let insertError: unknown = null;
  const inFlight = new Set<Promise<void>>();
  let lastProgress = Date.now();

  const flush = async (force: boolean) => {
    if (rows.length === 0 || (!force && rows.length < opts.batchRows)) return;
    const batch = rows;
    const batchObservations = observations;
    rows = [];
    observations = [];
    await inserting; // one INSERT at a time; the next batch is scored meanwhile
    if (insertError) throw insertError;
    inserting = withRetry(async () => {
      // Archived lines carry no verdict ("u"): keep the one recorded at intake.
      const verdicts = await deps.store.verdictsOf(batch.filter((r) => r.is_verified === "u").map((r) => r.measurement_uid));
      for (const r of batch) r.is_verified = verdicts.get(r.measurement_uid) ?? r.is_verified;
      await deps.store.insertRows(batch, batchObservations);
    }, opts.signal).then(
      () => {
        p.rows += batch.length;
      },
      (err: unknown) => {
        insertError = err;
      },
    );
  };

  const submit = async (chunk: ScoreItem[]) => {
    while (inFlight.size >= pool.capacity) await Promise.race(inFlight);
    const task = pool.score(chunk).then((results) => {
      for (const r of results) {
        if (r.ok) {
          rows.push(r.row);
          if (r.observations) observations.push(r.observations);
        } else if (r.excluded) p.excluded++; // ZZ / AS0: upstream gives these no row either
        else {
          p.unreadable++;
          if (p.unreadable <= 20) opts.onProblem?.(`unreadable line: ${r.error}`);
        }
      }
    });
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (insertError) throw insertError;
    await flush(false);
    if (Date.now() - lastProgress >= 1000) {
      lastProgress = Date.now();
      progress();
    }
  };

  let aborted = false;
  try {
    for (const [key, size] of files) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      let chunk: ScoreItem[] = [];
      const index = await withRetry(() => deps.store.archiveIndex(key), opts.signal);
      try {
        const body = await deps.blobs.get(key);
        if (!body) throw new Error("disappeared while listing");
        let linenum = 0;
        for await (const line of gzipLines(body)) {
          p.lines++;
          const known = index.get(linenum++);
          chunk.push({ kind: "line", data: line, uid: known?.uid, reportId: known?.reportId });
          if (chunk.length >= CHUNK) {
            await submit(chunk);
            chunk = [];
          }
          if (opts.signal?.aborted) break;
        }
      } catch (err) {
        if (err === insertError) throw err;
        p.badFiles++;
        opts.onProblem?.(`${key}: ${(err as Error).message}`);
      }
      // Lines read before an error are still scored.
      if (chunk.length > 0) await submit(chunk);
      p.files++;
      p.bytes += size;
      progress();
    }
    await Promise.all(inFlight);
    await flush(true);
    await inserting;
    if (insertError) throw insertError;
  } finally {
    await Promise.allSettled(inFlight);
    await pool.close();
  }
  progress();
  return { ...p, elapsedMs: Date.now() - t0, aborted };
}
