import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RunRecord } from "../../../origin/src/timers/history";
import { nextDue, RECHECK_WHEN_LOCKED_MS, RETRY_AFTER_FAILURE_MS, Scheduler } from "../../../origin/src/timers/scheduler";

// The scheduler on a fake clock: when jobs fire given their history, jitter, failures and locks.

const MIN = 60_000;
const HOUR = 60 * MIN;

function record(job: string, startedMs: number, outcome: "ok" | "failed" = "ok"): RunRecord {
  return {
    job, trigger: "timer", started: new Date(startedMs).toISOString(), ended: new Date(startedMs + 1000).toISOString(),
    duration_s: 1, outcome, summary: "", pid: 1, host: "h",
  };
}

/** In-memory history; `execute` appends what it is told to, as the real runner does. */
function harness(opts: { outcome?: "ok" | "failed" | "skipped_locked" | "throw"; jitterMs?: number; random?: () => number; startAt?: number } = {}) {
  const history = new Map<string, RunRecord[]>();
  const fired: { job: string; at: number }[] = [];
  const scheduler = new Scheduler({
    jobs: [{ name: "a", intervalMs: HOUR }],
    history: { last: async (job) => history.get(job)?.at(-1) ?? null },
    jitterMs: opts.jitterMs ?? 0,
    random: opts.random,
    startAt: opts.startAt,
    execute: async (job) => {
      fired.push({ job, at: Date.now() });
      const outcome = opts.outcome ?? "ok";
      if (outcome === "throw") throw new Error("admin socket broke");
      if (outcome === "skipped_locked") return "skipped_locked";
      history.set(job, [...(history.get(job) ?? []), record(job, Date.now(), outcome)]);
      return "ran";
    },
  });
  return { history, fired, scheduler };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2025-01-01T00:00:00Z") });
});
afterEach(() => vi.useRealTimers());

describe("nextDue", () => {
  const job = { name: "a", intervalMs: HOUR };
  it("is now for a job that never ran, a full interval after a success, sooner after a failure", () => {
    expect(nextDue(job, null, 5)).toBe(5);
    expect(nextDue(job, record("a", 1000), 0)).toBe(1000 + HOUR);
    expect(nextDue(job, record("a", 1000, "failed"), 0)).toBe(2000 + RETRY_AFTER_FAILURE_MS);
    expect(nextDue({ name: "a", intervalMs: 10 * MIN }, record("a", 1000, "failed"), 0)).toBe(2000 + 10 * MIN);
  });
});

describe("Scheduler", () => {
  it("runs a never-run job at once, then once per interval", async () => {
    const { fired, scheduler } = harness();
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(fired.length).toBe(1);
    await vi.advanceTimersByTimeAsync(HOUR - 10);
    expect(fired.length).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(fired.length).toBe(2);
    await vi.advanceTimersByTimeAsync(3 * HOUR);
    expect(fired.length).toBe(5);
    await scheduler.stop();
  });

  it("follows a run recorded by another process instead of running again", async () => {
    const { history, fired, scheduler } = harness();
    history.set("a", [record("a", Date.now() - 20 * MIN)]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(39 * MIN);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * MIN);
    expect(fired.length).toBe(1);
    await scheduler.stop();
  });

  it("adds jitter to every wait", async () => {
    const { fired, scheduler } = harness({ jitterMs: 10 * MIN, random: () => 0.5 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(5 * MIN - 100);
    expect(fired.length).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(fired.length).toBe(1);
    await vi.advanceTimersByTimeAsync(HOUR + 5 * MIN);
    expect(fired.length).toBe(2);
    await scheduler.stop();
  });

  it("waits for the start delay", async () => {
    const { fired, scheduler } = harness({ startAt: Date.now() + 10 * MIN });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10 * MIN - 100);
    expect(fired.length).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(fired.length).toBe(1);
    await scheduler.stop();
  });

  it("retries a failed run after the failure delay, and a locked one after the recheck delay", async () => {
    const failing = harness({ outcome: "failed" });
    failing.scheduler.start();
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(RETRY_AFTER_FAILURE_MS + 1500);
    expect(failing.fired.length).toBe(2);
    await failing.scheduler.stop();

    const locked = harness({ outcome: "skipped_locked" });
    locked.scheduler.start();
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(RECHECK_WHEN_LOCKED_MS - 100);
    expect(locked.fired.length).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(locked.fired.length).toBe(2);
    await locked.scheduler.stop();
  });

  it("does not spin when the executor itself fails (no history entry appears)", async () => {
    const { fired, scheduler } = harness({ outcome: "throw" });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(RETRY_AFTER_FAILURE_MS - 100);
    expect(fired.length).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(fired.length).toBe(2);
    await scheduler.stop();
  });

  it("stops: nothing fires after stop()", async () => {
    const { fired, scheduler } = harness({ startAt: Date.now() + MIN });
    scheduler.start();
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(fired).toEqual([]);
  });
});
