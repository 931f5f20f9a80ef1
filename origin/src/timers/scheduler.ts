import type { RunHistory, RunRecord } from "./history";

// When each job runs next. The schedule is derived from the durable history, not from this
// process's memory: a restart does not re-run everything, and several schedulers (the origin, a
// `cli timers` elsewhere, systemd units) see each other's runs. Each wait gets a random jitter so
// hosts and jobs do not all fire at the same instant.

export interface ScheduledJob {
  name: string;
  intervalMs: number;
}

/** What the scheduler asks for: run the job now (lock and history are the executor's business). */
export type Executor = (job: string) => Promise<"ran" | "skipped_locked">;

export interface SchedulerOptions {
  jobs: ScheduledJob[];
  history: Pick<RunHistory, "last">;
  execute: Executor;
  jitterMs: number;
  /** Nothing runs before this time (ms since the epoch): lets a starting process settle first. */
  startAt?: number;
  onError?: (job: string, err: unknown) => void;
  random?: () => number;
  now?: () => number;
}

// A failed run is retried sooner than a full interval (an updater failing daily would otherwise
// leave a day-old failure in place), but not in a tight loop.
export const RETRY_AFTER_FAILURE_MS = 30 * 60_000;
// Someone else is running the job: look again after a while; their history entry then sets the pace.
export const RECHECK_WHEN_LOCKED_MS = 5 * 60_000;
// setTimeout cannot wait longer than 2^31-1 ms; longer waits are re-planned on wake-up.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** When `job` is next due, without jitter: never run → now; else after its interval (or sooner after a failure). */
export function nextDue(job: ScheduledJob, last: RunRecord | null, now: number): number {
  if (!last) return now;
  const ended = Date.parse(last.ended);
  const started = Date.parse(last.started);
  if (last.outcome === "failed") return ended + Math.min(job.intervalMs, RETRY_AFTER_FAILURE_MS);
  // From the start, as systemd's OnUnitActiveSec: a slow run does not push every later one back.
  return started + job.intervalMs;
}

export class Scheduler {
  readonly #opts: SchedulerOptions;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #running = new Map<string, Promise<void>>();
  #stopped = true;

  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    for (const job of this.#opts.jobs) void this.#plan(job, null);
  }

  /** Stops planning; resolves once runs in progress have finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#running.values()]);
  }

  #jitter(): number {
    return Math.floor((this.#opts.random ?? Math.random)() * this.#opts.jitterMs);
  }

  async #plan(job: ScheduledJob, notBefore: number | null): Promise<void> {
    if (this.#stopped) return;
    const now = (this.#opts.now ?? Date.now)();
    let due: number;
    try {
      due = nextDue(job, await this.#opts.history.last(job.name), now);
    } catch (err) {
      this.#opts.onError?.(job.name, err);
      due = now + RETRY_AFTER_FAILURE_MS;
    }
    if (notBefore !== null) due = Math.max(due, notBefore);
    if (this.#opts.startAt !== undefined) due = Math.max(due, this.#opts.startAt);
    const wait = Math.min(MAX_TIMEOUT_MS, Math.max(0, due - now) + this.#jitter());
    const timer = setTimeout(() => {
      this.#timers.delete(job.name);
      // A wait cut short by MAX_TIMEOUT_MS (or a clock jump) is simply planned again.
      if ((this.#opts.now ?? Date.now)() < due - 1000) return void this.#plan(job, notBefore);
      this.#fire(job);
    }, wait);
    timer.unref?.();
    this.#timers.set(job.name, timer);
  }

  #fire(job: ScheduledJob): void {
    if (this.#stopped || this.#running.has(job.name)) return;
    const run = (async () => {
      let recheck: number | null = null;
      try {
        const r = await this.#opts.execute(job.name);
        if (r === "skipped_locked") recheck = (this.#opts.now ?? Date.now)() + Math.min(job.intervalMs, RECHECK_WHEN_LOCKED_MS);
      } catch (err) {
        // The executor itself failed (not the job: its failures are in the history), so the
        // history may not have moved on; wait before trying again instead of spinning.
        this.#opts.onError?.(job.name, err);
        recheck = (this.#opts.now ?? Date.now)() + Math.min(job.intervalMs, RETRY_AFTER_FAILURE_MS);
      } finally {
        this.#running.delete(job.name);
      }
      await this.#plan(job, recheck);
    })();
    this.#running.set(job.name, run);
  }
}
