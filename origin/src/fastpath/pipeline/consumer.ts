import type { MeasurementObservations } from "../../observations";
import { readFile } from "node:fs/promises";
import { parseMeasurementUid } from "../../intake/measurement-uid";
import type { Spool, SpoolEntry } from "../../intake/spool";
import { metrics } from "../../metrics/registry";
import type { Logger } from "../../logger";
import type { FastpathRow } from "../row";
import type { ScoringPool } from "./pool";
import type { ScoreItem } from "./score-item";
import { backoffMs, RowSink } from "./sink";
import type { FastpathStore } from "./store";

// The live half of the pipeline: spool → scoring threads → ClickHouse.
//
// Progress lives in ClickHouse only: a measurement is scored iff its fastpath row exists. So there
// is no offset to lose or corrupt: after any restart a scan of the spool's hour directories asks
// ClickHouse which uids lack a row and scores those; scoring twice is harmless (the table is a
// ReplacingMergeTree keyed by the measurement, the newer row wins).
//
// Notifications (Spool.onWrite) make fresh measurements fast; scans make the pipeline complete.
// Everything the consumer holds is bounded by maxPending uids: when full (ClickHouse slow or down),
// notifications are dropped, the spool keeps the files, and a scan picks them up once rows flow.

export interface ConsumerOptions {
  spool: Spool;
  store: FastpathStore;
  pool: ScoringPool;
  log: Logger;
  batchRows: number;
  flushMs: number;
  maxPending: number;
  rescanMs: number;
}

export interface ConsumerStats {
  /** Rows inserted since start. */
  inserted: number;
  /** Files that are not measurements (logged and skipped; the uploader archives them anyway). */
  unreadable: number;
  /** Readable measurements that get no row by rule (probe_cc ZZ, probe_asn AS0; ../excluded.ts). */
  excluded: number;
  /** uids queued, being scored, or waiting for their INSERT. */
  pending: number;
  /** Rows scored and waiting for ClickHouse. */
  backlog: number;
  /** The last INSERT failed and is being retried. */
  clickhouseFailing: boolean;
  scans: number;
  /** Notifications dropped because the consumer was full (a scan recovers them). */
  dropped: number;
}

/** Files read and handed to a thread as one message: amortizes messaging, keeps latency low. */
const CHUNK = 32;
const CHUNK_BYTES = 4 * 1024 * 1024;
const MAX_REMEMBERED_UNREADABLE = 100_000;

export class SpoolConsumer {
  private readonly queue: { hourDir: string; uid: string }[] = [];
  private queueHead = 0;
  /** uids queued, in flight or buffered in the sink: never enqueued twice. */
  private readonly tracked = new Set<string>();
  /** Files found unreadable: not read again by every scan. */
  private readonly unreadable = new Set<string>();
  private readonly sink: RowSink;
  /** Observation rows of the measurements whose fastpath rows wait in the sink, by uid. */
  private readonly observations = new Map<string, MeasurementObservations>();
  private activeChunks = 0;
  private ready = false;
  private stopped = false;
  private overflow = false;
  private scanning: Promise<void> | null = null;
  private scanAgain = false;
  private scanFailures = 0;
  private scanTimer: NodeJS.Timeout | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private counters = { unreadable: 0, excluded: 0, scans: 0, dropped: 0 };
  /** Held by ensureScored (see claim); not counted against maxPending. */
  private readonly held = new Set<string>();
  /** Scored by ensureScored while a scan pass ran: that pass must not queue them (see claim). */
  private readonly ensured = new Set<string>();

  constructor(private readonly opts: ConsumerOptions) {
    this.sink = new RowSink({
      batchRows: opts.batchRows,
      flushMs: opts.flushMs,
      insert: (rows) =>
        opts.store.insertRows(
          rows,
          rows.flatMap((r) => this.observations.get(r.measurement_uid) ?? []),
        ),
      onInserted: (rows) => this.inserted(rows),
      onError: (err, attempt, retryInMs) => {
        const level = attempt === 1 || attempt % 10 === 0 ? "warn" : "debug";
        opts.log[level]({ err, attempt, retry_in_ms: retryInMs, backlog: this.sink.backlog }, "fastpath insert failed; retrying");
      },
      onRecovered: (failed) => opts.log.info({ failed_attempts: failed }, "fastpath inserts recovered"),
    });
  }

  /** Subscribes to the spool (before anything else, so no write is missed) and scans it. */
  start(): void {
    this.unsubscribe = this.opts.spool.onWrite((entry) => this.notified(entry));
    this.requestScan();
    if (this.opts.rescanMs > 0) {
      this.rescanTimer = setInterval(() => this.requestScan(), this.opts.rescanMs);
      this.rescanTimer.unref();
    }
  }

  /** Fingerprints are loaded: scoring may begin (nothing is scored with a set not yet read). */
  setReady(): void {
    this.ready = true;
    this.pump();
  }

  stats(): ConsumerStats {
    return {
      inserted: this.sink.inserted,
      unreadable: this.counters.unreadable,
      excluded: this.counters.excluded,
      pending: this.tracked.size,
      backlog: this.sink.backlog,
      clickhouseFailing: this.sink.failing,
      scans: this.counters.scans,
      dropped: this.counters.dropped,
    };
  }

  /** Resolves once nothing is queued, being scored or waiting for ClickHouse (tests, benchmarks). */
  async idle(): Promise<void> {
    while (!this.stopped && (this.tracked.size > 0 || this.scanning)) {
      await (this.scanning ?? Promise.resolve());
      await this.sink.drained();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * For ensureScored (the uploader's guard), which scores and inserts on its own: without this,
   * the guard and the consumer could both score a measurement that arrived a moment ago and insert
   * two rows for it. Waits until none of `uids` is queued, being scored or waiting for ClickHouse
   * here, then holds them — a notification or scan cannot take them — until the returned release.
   * A scan that asked ClickHouse before the guard inserted would still think them unscored: it
   * skips them too (`ensured`, forgotten when the next scan pass starts).
   */
  async claim(uids: readonly string[], timeoutMs = 60_000): Promise<() => void> {
    const deadline = Date.now() + timeoutMs;
    while (uids.some((u) => this.tracked.has(u) || this.held.has(u))) {
      if (this.stopped) throw new Error("fastpath is stopping");
      if (Date.now() > deadline) throw new Error(`fastpath still busy with these measurements after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const held = [...new Set(uids)];
    for (const u of held) this.held.add(u);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const u of held) {
        this.held.delete(u);
        if (this.scanning) this.ensured.add(u);
      }
    };
  }

  /** Stops reading; waits for what is being scored; one last INSERT attempt. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.scanTimer) clearTimeout(this.scanTimer);
    for (let i = 0; i < 200 && this.activeChunks > 0; i++) await new Promise((r) => setTimeout(r, 10));
    // A scan stops at its next hour directory; its query in flight is awaited, because the database
    // is closed right after and embedded chDB must not be closed under a running query.
    await this.scanning?.catch(() => {});
    await this.sink.close(true);
  }

  private notified(entry: SpoolEntry): void {
    if (this.stopped) return;
    this.enqueue(entry.hourDir, entry.uid);
    this.pump();
  }

  /** False when the consumer is full; the uid is then left to a later scan. */
  private enqueue(hourDir: string, uid: string): boolean {
    if (this.tracked.has(uid) || this.held.has(uid) || this.ensured.has(uid)) return true;
    if (this.tracked.size >= this.opts.maxPending) {
      if (!this.overflow) this.opts.log.warn({ pending: this.tracked.size }, "fastpath full: leaving new measurements to a later spool scan");
      this.overflow = true;
      this.counters.dropped++;
      return false;
    }
    this.tracked.add(uid);
    this.queue.push({ hourDir, uid });
    return true;
  }

  private pump(): void {
    // Sink backlog beyond a few batches means ClickHouse is not keeping up: stop reading files.
    const sinkLimit = this.opts.batchRows * 4;
    while (
      this.ready &&
      !this.stopped &&
      this.queueHead < this.queue.length &&
      // A couple more chunks than threads can take: the next ones are read while threads score.
      this.activeChunks < this.opts.pool.capacity + 2 &&
      this.sink.backlog < sinkLimit
    ) {
      const chunk = this.queue.slice(this.queueHead, this.queueHead + CHUNK);
      this.queueHead += chunk.length;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      this.activeChunks++;
      void this.process(chunk)
        .catch((err: unknown) => {
          // Not expected (every step handles its errors); the uids go back to the scan.
          this.opts.log.error({ err }, "fastpath chunk failed");
          for (const { uid } of chunk) this.tracked.delete(uid);
          this.overflow = true;
        })
        .finally(() => {
          this.activeChunks--;
          this.pump();
          this.maybeRescanAfterOverflow();
        });
    }
  }

  private async process(chunk: { hourDir: string; uid: string }[]): Promise<void> {
    // Read one file at a time and hand a batch to a thread once it holds CHUNK_BYTES: memory per
    // chunk stays bounded even when the spool holds 50 MB measurements.
    let items: (ScoreItem & { kind: "post" })[] = [];
    let bytes = 0;
    for (const { hourDir, uid } of chunk) {
      if (this.stopped) {
        this.tracked.delete(uid);
        continue;
      }
      let data: Buffer;
      try {
        data = await readFile(this.opts.spool.pathOf(hourDir, uid));
      } catch (err) {
        // ENOENT: removed after being scored and archived (ensureScored); nothing to do. Other
        // errors are left to the periodic scan rather than retried at once: a file that cannot be
        // read now (permissions, I/O errors) would otherwise be read in a tight loop.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
          this.opts.log.warn({ err, measurement_uid: uid }, "fastpath could not read a spool file; a later scan retries");
        }
        this.tracked.delete(uid);
        continue;
      }
      items.push({ kind: "post", uid, data });
      bytes += data.length;
      if (bytes >= CHUNK_BYTES) {
        await this.score(items);
        items = [];
        bytes = 0;
      }
    }
    if (items.length > 0) await this.score(items);
  }

  private async score(items: (ScoreItem & { kind: "post" })[]): Promise<void> {
    const results = await this.opts.pool.score(items);
    results.forEach((result, i) => {
      const uid = items[i]!.uid;
      if (result.ok) {
        if (result.observations) this.observations.set(uid, result.observations);
        this.sink.add(result.row);
        return;
      }
      this.tracked.delete(uid);
      if (result.retryable) return; // not judged (shutting down): the next scan scores it
      // Unreadable or excluded by rule: never scored, so not read again by later scans.
      if (this.unreadable.size >= MAX_REMEMBERED_UNREADABLE) this.unreadable.clear();
      this.unreadable.add(uid);
      if (result.excluded) {
        this.counters.excluded++;
        this.opts.log.info({ measurement_uid: uid, reason: result.error }, "fastpath gave no row to a measurement (as upstream)");
        return;
      }
      this.counters.unreadable++;
      this.opts.log.warn({ measurement_uid: uid, error: result.error }, "fastpath skipped an unreadable measurement");
    });
  }

  private inserted(rows: FastpathRow[]): void {
    // Lag = age of the newest measurement just inserted; uids start with the reception time, so
    // the newest is the greatest string.
    let newest = "";
    for (const row of rows) {
      this.tracked.delete(row.measurement_uid);
      this.observations.delete(row.measurement_uid);
      if (row.measurement_uid > newest) newest = row.measurement_uid;
    }
    const received = parseMeasurementUid(newest)?.receivedAt;
    if (received) metrics.observeFastpathInsert((Date.now() - received.getTime()) / 1000);
    this.pump();
    this.maybeRescanAfterOverflow();
  }

  private maybeRescanAfterOverflow(): void {
    // Rescan once there is room again, so what was dropped is not left until the periodic scan.
    if (this.overflow && !this.stopped && this.tracked.size <= this.opts.maxPending / 2 && !this.sink.failing) {
      this.overflow = false;
      this.requestScan();
    }
  }

  /** Scans the spool for measurements without a row (again, if one is running). */
  requestScan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.scanAgain = true;
      return;
    }
    this.scanning = (async () => {
      do {
        this.scanAgain = false;
        try {
          await this.scanOnce();
          this.scanFailures = 0;
        } catch (err) {
          this.scanFailures++;
          const wait = backoffMs(this.scanFailures);
          const level = this.scanFailures === 1 || this.scanFailures % 10 === 0 ? "warn" : "debug";
          this.opts.log[level]({ err, attempt: this.scanFailures, retry_in_ms: wait }, "fastpath spool scan failed; retrying");
          if (this.scanTimer) clearTimeout(this.scanTimer);
          this.scanTimer = setTimeout(() => {
            this.scanTimer = null;
            this.requestScan();
          }, wait);
          this.scanTimer.unref();
          break;
        }
      } while (this.scanAgain && !this.stopped);
    })().finally(() => {
      this.scanning = null;
    });
  }

  private async scanOnce(): Promise<void> {
    this.counters.scans++;
    // This pass asks ClickHouse afresh: rows ensureScored inserted before now are visible to it.
    this.ensured.clear();
    let queued = 0;
    for (const hourDir of await this.opts.spool.listHourDirs()) {
      if (this.stopped) return;
      const uids = (await this.opts.spool.listFiles(hourDir)).filter((u) => !this.tracked.has(u) && !this.unreadable.has(u));
      if (uids.length === 0) continue;
      const existing = await this.opts.store.existingUids(uids);
      for (const uid of uids) {
        if (existing.has(uid)) continue;
        if (!this.enqueue(hourDir, uid)) {
          this.opts.log.info({ queued, hour_dir: hourDir }, "fastpath spool scan paused: consumer full");
          this.pump();
          return;
        }
        queued++;
      }
      this.pump();
    }
    if (queued > 0) this.opts.log.info({ queued }, "fastpath spool scan found unscored measurements");
  }
}
