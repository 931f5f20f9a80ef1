import { readFile } from "node:fs/promises";
import type { Database } from "../../db/clickhouse";
import type { Spool } from "../../intake/spool";
import type { Logger } from "../../logger";
import { ObservationWriter } from "../../observations/writer";
import { AnalysisFollower } from "../../analysis/follower";
import type { IpLookup } from "../../observations/enrich";
import { buildFingerprintSet, type MatchSemantics } from "../fingerprints";
import type { FastpathRow } from "../row";
import type { MeasurementObservations } from "../../observations";
import { SpoolConsumer, type ConsumerStats } from "./consumer";
import { FingerprintWatcher } from "./fingerprint-watch";
import { ScoringPool } from "./pool";
import { scoreItem, type ItemResult, type ScoreItem } from "./score-item";
import type { FastpathConfig } from "./settings";
import { FastpathStore } from "./store";

// The fastpath pipeline (docs/fastpath.md): the origin starts one per process (services.ts); the
// archive uploader calls ensureScored before it deletes spool files.

export type { FastpathConfig } from "./settings";
export { FastpathSettings, fastpathConfig } from "./settings";
export { FastpathStore } from "./store";
export { ScoringPool } from "./pool";

export interface FastpathStats extends ConsumerStats {
  workers: number;
  /** Checksum of the fingerprint tables in use; null until the first load. */
  fingerprints: string | null;
  threadCrashes: number;
}

export interface EnsureScoredResult {
  /** Had a row already. */
  alreadyScored: number;
  /** Scored and inserted by this call. */
  scored: number;
  /**
   * Files that will never have a row — not measurements, or measurements upstream does not score
   * either (probe_cc ZZ / probe_asn AS0, ../excluded.ts): archive them as they are.
   */
  unreadable: string[];
  /** Not in the spool (nothing to score). */
  missing: string[];
}

export interface FastpathPipeline {
  stats(): FastpathStats;
  /** Re-reads the fingerprint tables now (after `fingerprints load`). */
  reloadFingerprints(): Promise<void>;
  /** Scans the spool for unscored measurements now. */
  rescan(): void;
  /** Resolves when everything seen so far is in ClickHouse (tests and benchmarks). */
  idle(): Promise<void>;
  ensureScored(hourDir: string, uids: readonly string[]): Promise<EnsureScoredResult>;
  stop(): Promise<void>;
}

export interface FastpathDeps {
  config: FastpathConfig;
  db: Database;
  spool: Spool;
  log: Logger;
  /** For the observation rows' address metadata (the origin's GeoIP); null leaves it empty. */
  geoip?: IpLookup | null;
}

/** Starts consuming the spool. Returns at once: fingerprints load and the scan run in the background. */
export function startFastpath({ config, db, spool, log, geoip = null }: FastpathDeps): FastpathPipeline {
  // The web analysis is computed by the writer with each batch (analysis/live.ts); the follower
  // catches up on observations a previous run left unanalysed (analysis/follower.ts).
  const follower = new AnalysisFollower(db, { log });
  // A few seconds in, not at once: a start is busy enough (and a start followed by a stop needs none).
  let catchingUp: Promise<unknown> = Promise.resolve();
  const catchUpTimer = setTimeout(() => {
    catchingUp = follower
      .catchUp(new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10))
      .catch((err: unknown) => log.warn({ err }, "analysis catch-up scan failed; the daily analysis job covers it"));
  }, 5_000);
  catchUpTimer.unref();
  const store = new FastpathStore(db, config.faultClickhouseDownFile, new ObservationWriter(db, geoip));
  if (config.faultClickhouseDownFile) {
    log.warn({ file: config.faultClickhouseDownFile }, "FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE is set: test fault injector active");
  }
  const pool = new ScoringPool(config.workers, {
    onCrash: (err, phase) =>
      log.error({ err, phase }, phase === "start" ? "fastpath scoring thread failed to start" : "fastpath scoring thread died"),
  });
  const consumer = new SpoolConsumer({
    spool,
    store,
    pool,
    log,
    batchRows: config.batchRows,
    flushMs: config.flushMs,
    maxPending: config.maxPending,
    rescanMs: config.rescanMs,
  });
  const watcher = new FingerprintWatcher(store, {
    semantics: config.matching,
    pollMs: config.fingerprintsPollMs,
    log,
    onChange: (lists) => {
      pool.setFingerprints(lists);
      consumer.setReady();
    },
  });
  consumer.start();
  watcher.start();

  return {
    stats: () => ({
      ...consumer.stats(),
      workers: pool.size,
      fingerprints: watcher.loadedVersion,
      threadCrashes: pool.crashes,
    }),
    reloadFingerprints: () => watcher.refresh(),
    rescan: () => consumer.requestScan(),
    idle: async () => {
      await consumer.idle();
      await follower.idle();
    },
    async ensureScored(hourDir, uids) {
      if (watcher.loadedVersion === null) await watcher.refresh();
      for (const uid of uids) spool.pathOf(hourDir, uid); // refuse junk before holding anything
      // Held away from the consumer, so a measurement is never scored by both (two raw rows).
      const release = await consumer.claim(uids);
      try {
        return await ensureWith(store, spool, hourDir, uids, (items) => pool.score(items));
      } finally {
        release();
      }
    },
    async stop() {
      await watcher.stop();
      await consumer.stop();
      clearTimeout(catchUpTimer);
      await catchingUp; // no query of ours in flight once stop() resolves
      await follower.stop();
      await pool.close();
    },
  };
}

async function ensureWith(
  store: FastpathStore,
  spool: Spool,
  hourDir: string,
  uids: readonly string[],
  score: (items: ScoreItem[]) => Promise<ItemResult[]>,
): Promise<EnsureScoredResult> {
  for (const uid of uids) spool.pathOf(hourDir, uid); // throws SpoolPathError for anything else
  const unique = [...new Set(uids)];
  const existing = await store.existingUids(unique);
  const result: EnsureScoredResult = { alreadyScored: existing.size, scored: 0, unreadable: [], missing: [] };
  const todo = unique.filter((u) => !existing.has(u));
  // Files are scored in bounded pieces (≤ 256 files or 8 MB: an hour directory may be large) and
  // rows inserted in batches of up to 5,000 (fewer, larger parts for ClickHouse).
  let items: (ScoreItem & { kind: "post" })[] = [];
  let bytes = 0;
  let rows: FastpathRow[] = [];
  let observations: MeasurementObservations[] = [];
  const insert = async () => {
    await store.insertRows(rows, observations);
    result.scored += rows.length;
    rows = [];
    observations = [];
  };
  const flush = async () => {
    const results = await score(items);
    results.forEach((r, k) => {
      const uid = items[k]!.uid;
      if (r.ok) {
        rows.push(r.row);
        if (r.observations) observations.push(r.observations);
      } else if (r.retryable) throw new Error(`could not score ${uid}: ${r.error}`);
      else result.unreadable.push(uid); // includes excluded ones (ZZ / AS0): no row, ever
    });
    items = [];
    bytes = 0;
    if (rows.length >= 5_000) await insert();
  };
  for (const uid of todo) {
    const data = await readFile(spool.pathOf(hourDir, uid)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return null;
      throw err;
    });
    if (!data) {
      result.missing.push(uid);
      continue;
    }
    items.push({ kind: "post", uid, data });
    bytes += data.length;
    if (items.length >= 256 || bytes >= 8 * 1024 * 1024) await flush();
  }
  if (items.length > 0) await flush();
  if (rows.length > 0) await insert();
  return result;
}

/** What ensureScored needs from the origin's services (a structural subset of Services). */
export interface EnsureScoredServices {
  config: { fastpath: FastpathConfig };
  db: Database;
  geoip?: IpLookup | null;
  spool: Spool;
  fastpath: FastpathPipeline | null;
}

/**
 * For the archive uploader: makes sure every given spool measurement has its fastpath row before
 * the files are deleted. Resolves once each uid is scored (now or before), unreadable (never will
 * be: archive it anyway) or absent from the spool; rejects when that cannot be established (e.g.
 * ClickHouse down) — then the uploader must keep the files and try again later.
 *
 * Uses the running pipeline's scoring threads; without one (a CLI process), scores in this thread
 * with the fingerprints read from the tables.
 */
export async function ensureScored(
  services: EnsureScoredServices,
  hourDir: string,
  uids: readonly string[],
): Promise<EnsureScoredResult> {
  if (services.fastpath) return services.fastpath.ensureScored(hourDir, uids);
  const store = new FastpathStore(services.db, services.config.fastpath.faultClickhouseDownFile, new ObservationWriter(services.db, services.geoip ?? null));
  const set = await loadFingerprintSet(store, services.config.fastpath.matching);
  return ensureWith(store, services.spool, hourDir, uids, async (items) => items.map((item) => scoreItem(item, set)));
}

/** The fingerprint tables as a ready-to-match set. */
export async function loadFingerprintSet(store: FastpathStore, semantics: MatchSemantics) {
  const [dns, http] = await Promise.all([store.loadFingerprints("dns"), store.loadFingerprints("http")]);
  return buildFingerprintSet(dns, http, { semantics });
}
