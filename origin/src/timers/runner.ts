import { hostname } from "node:os";
import { metrics as defaultMetrics, type Metrics } from "../metrics/registry";
import { RunHistory, type RunRecord } from "./history";
import { inspectLock, JobLock } from "./lock";

// Running one job once: take its lock (or give up at once if another process runs it), run it,
// record the outcome in the durable history, release the lock. Every way a job is started — the
// scheduler, `update …`, `timers run …`, a systemd unit — goes through here, so the lock and the
// history cover all of them.

export type Trigger = RunRecord["trigger"];

export type RunOutcome =
  | { outcome: "ok" | "failed"; record: RunRecord; error?: unknown }
  | { outcome: "skipped_locked"; holder: string };

export interface RunLockedOptions {
  timersDir: string;
  staleMs: number;
  trigger: Trigger;
  metrics?: Metrics;
}

function oneLine(text: string, max = 500): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * `fn` returns a one-line summary of what it did. A throw is a failed run: recorded, and returned
 * (with the error) rather than thrown, so a scheduler loop never dies of a job's failure.
 */
export async function runLocked(job: string, fn: () => Promise<string>, opts: RunLockedOptions): Promise<RunOutcome> {
  const m = opts.metrics ?? defaultMetrics;
  const lock = await JobLock.tryAcquire(opts.timersDir, job, { staleMs: opts.staleMs });
  if (!lock) {
    m.observeTimerRun(job, "skipped_locked");
    const state = await inspectLock(opts.timersDir, job, opts.staleMs).catch(() => null);
    const holder = state?.info ? `pid ${state.info.pid} on ${state.info.host} since ${state.info.acquired}` : "another process";
    return { outcome: "skipped_locked", holder };
  }
  const started = new Date();
  let outcome: "ok" | "failed" = "ok";
  let summary: string;
  let error: unknown;
  try {
    summary = await fn();
  } catch (err) {
    outcome = "failed";
    error = err;
    summary = err instanceof Error ? err.message : String(err);
  }
  const ended = new Date();
  const record: RunRecord = {
    job,
    trigger: opts.trigger,
    started: started.toISOString(),
    ended: ended.toISOString(),
    duration_s: Math.round((ended.getTime() - started.getTime()) / 10) / 100,
    outcome,
    summary: oneLine(summary),
    pid: process.pid,
    host: hostname(),
  };
  try {
    // Written before the lock goes, so the next runner always sees this run.
    await new RunHistory(opts.timersDir).append(record);
  } finally {
    await lock.release();
  }
  m.observeTimerRun(job, outcome);
  return outcome === "ok" ? { outcome, record } : { outcome, record, error };
}
