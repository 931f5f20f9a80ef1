import type { Database } from "../db/clickhouse";
import type { Logger } from "../logger";
import { queryRows } from "../db/clickhouse";
import { dayWindows, runWebAnalysis } from "./store";

// Catch-up for the web analysis, with the SQL statement (query.ts). The live analysis is computed
// in-process by the writer and stored with the observations (live.ts); what this follower still
// does: a few seconds after start, `catchUp` finds the measurements received in the last two days
// that have observations but no analysis row (a process stopped between the INSERTs, or rows
// written by an older version) and analyses them in coalesced runs, one at a time, retried with
// backoff. Nothing here has to be durable: the analysis is derived from obs_web, and the daily
// `analysis` timer job rebuilds whole days anyway.

export interface FollowerOptions {
  /** Pause between runs while there is work (default 500 ms). */
  intervalMs?: number;
  /** Measurements queued at most; beyond that they wait for the catch-up scan (default 50,000). */
  maxPending?: number;
  log?: Logger;
}

interface Pending {
  reportId: string;
  startTime: string;
}

const BACKOFF_MAX_MS = 30_000;
/** Measurements per analysis statement. */
const RUN_MAX = 5_000;

export class AnalysisFollower {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;
  private overflow = false;
  private stopped = false;
  private waiters: (() => void)[] = [];
  analysed = 0;

  constructor(
    private readonly db: Database,
    private readonly opts: FollowerOptions = {},
  ) {}

  get backlog(): number {
    return this.pending.size;
  }

  /** Measurements whose observations are stored. */
  enqueue(items: readonly { uid: string; reportId: string; startTime: string }[]): void {
    if (this.stopped) return;
    for (const it of items) {
      if (this.pending.size >= (this.opts.maxPending ?? 50_000)) {
        this.overflow = true; // the catch-up scan finds the rest
        break;
      }
      this.pending.set(it.uid, { reportId: it.reportId, startTime: it.startTime });
    }
    this.schedule(this.opts.intervalMs ?? 500);
  }

  /** Queues what has observations but no analysis among the measurements received since `sinceDay` (YYYY-MM-DD). */
  async catchUp(sinceDay: string): Promise<number> {
    const from = sinceDay.replaceAll("-", "");
    const rows = await queryRows<{ measurement_uid: string; report_id: string; t: string }>(
      this.db,
      `SELECT measurement_uid, any(report_id) AS report_id, toString(any(measurement_start_time)) AS t
       FROM obs_web
       WHERE measurement_uid >= {from:String} AND test_name = 'web_connectivity'
         AND measurement_uid NOT IN (SELECT measurement_uid FROM analysis_web_measurement WHERE measurement_uid >= {from:String})
       GROUP BY measurement_uid
       LIMIT {limit:UInt32}`,
      { from, limit: this.opts.maxPending ?? 50_000 },
    );
    this.enqueue(rows.map((r) => ({ uid: r.measurement_uid, reportId: r.report_id, startTime: r.t })));
    return rows.length;
  }

  /** Resolves when nothing is queued or running (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.pending.size === 0 && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
    for (const w of this.waiters.splice(0)) w();
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.run().finally(() => {
        this.running = null;
        if (this.pending.size > 0) this.schedule(this.failures ? Math.min(BACKOFF_MAX_MS, 250 * 2 ** this.failures) : (this.opts.intervalMs ?? 500));
        else {
          for (const w of this.waiters.splice(0)) w();
          if (this.overflow && !this.stopped) {
            this.overflow = false;
            void this.catchUp(new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10)).catch((err: unknown) =>
              this.opts.log?.warn({ err }, "analysis catch-up scan failed; the daily analysis job covers it"),
            );
          }
        }
      });
    }, ms);
    this.timer.unref?.();
  }

  private async run(): Promise<void> {
    const batch = [...this.pending.entries()].slice(0, RUN_MAX);
    const uids = batch.map(([uid]) => uid);
    const reports = [...new Set(batch.map(([, p]) => p.reportId))];
    try {
      for (const w of dayWindows([...new Set(batch.map(([, p]) => p.startTime))])) {
        await runWebAnalysis(this.db, { since: w.since, until: w.until, reports, uids });
      }
      for (const uid of uids) this.pending.delete(uid);
      this.analysed += uids.length;
      if (this.failures > 0) this.opts.log?.info({ failed_attempts: this.failures }, "web analysis recovered");
      this.failures = 0;
    } catch (err) {
      this.failures++;
      const level = this.failures === 1 || this.failures % 10 === 0 ? "warn" : "debug";
      this.opts.log?.[level]({ err, attempt: this.failures, backlog: this.pending.size }, "web analysis failed; retrying");
    }
  }
}
