import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatStats, memory, runLoad, stats, verifyRun } from "../support/load";
import { startLoadStack, type LoadStack } from "../support/load-stack";
import { report, scale } from "../support/reliability";

// Load through the whole system (real Worker in workerd under Miniflare, real origin, real test
// helpers) on loopback: probe-like clients doing what probes do, for a bounded time. Zero errors —
// every request answered 200, no broken connection, no hang — every acknowledged measurement stored
// (spool and ClickHouse), none twice, origin memory bounded.
// Quick: 50 clients × 20 s; RELIABILITY_FULL=1: 200 clients × 150 s. bench/load/run.ts runs the
// same generator with a baseline.

const CLIENTS = scale(50, 200);
const DURATION_S = scale(20, 150);
/** Origin RSS ceiling: embedded ClickHouse included. */
const MAX_RSS_MB = 2_048;

let stack: LoadStack;

beforeAll(async () => {
  stack = await startLoadStack();
}, 150_000);

afterAll(async () => {
  await stack?.stop();
});

describe("load through edge and origin", () => {
  it(`${CLIENTS} probe-like clients for ${DURATION_S} s: no errors, nothing lost, no duplicates, bounded memory`, async () => {
    const run = await runLoad(stack, { clients: CLIENTS, durationS: DURATION_S, via: "edge" });
    const s = stats(run);
    const mem = memory(run);
    console.log(formatStats(`${CLIENTS} clients × ${DURATION_S} s through the edge (${run.measurementSource})`, s));
    const stored = await verifyRun(stack, run.ledger);
    report("load", `${CLIENTS} clients × ${DURATION_S} s through edge + origin + helpers`, {
      acknowledged: stored.acknowledged,
      stored: stored.stored,
      duplicates: stored.duplicates,
      requests: s.all.count,
      rps: Number(s.all.rps.toFixed(1)),
      errors: s.all.errors,
      submit_p50_ms: Math.round(s.byKind.submit!.p50),
      submit_p99_ms: Math.round(s.byKind.submit!.p99),
      th_p99_ms: Math.round(s.byKind.th_control!.p99),
      max_ms: Math.round(s.all.max),
      origin_rss_max_mb: Math.round(mem.maxMb),
      origin_rss_final_mb: Math.round(mem.finalMb),
      rss_late_growth: Number(mem.lateGrowth.toFixed(2)),
      unacknowledged_copies: stored.unacknowledged_copies,
      fastpath_catch_up_ms: stored.fastpathCatchUpMs,
    });
    if (s.all.errors > 0) {
      console.log(`edge process: exit code ${stack.edge.child.exitCode}, signal ${stack.edge.child.signalCode}; last log lines:`);
      console.log(stack.edge.logs.filter((l) => l.trim()).slice(-40).join("\n"));
    }
    // Every request was answered 200: no error of the Worker or the origin, no broken connection,
    // nothing hung. (The Worker runs under Miniflare directly, not behind wrangler's dev proxy,
    // whose hop to the Worker broke now and then under this load: test/support/wrangler-dev-main.ts.)
    expect(s.all.errors, s.errorSamples.join("\n")).toBe(0);
    expect(run.gaveUp).toEqual([]);
    for (const k of ["check_in", "open_report", "th_control", "submit", "submit_measurement", "explorer_get"]) expect(s.byKind[k]!.count, k).toBeGreaterThan(0);
    expect(stored.problems).toEqual([]);
    expect(stored.in_spool).toBe(stored.acknowledged);
    expect(stored.stored).toBe(stored.acknowledged);
    expect(stored.duplicates).toBe(0);
    // A copy without acknowledgement would mean an answer lost after the origin stored it.
    expect(stored.unacknowledged_copies).toBe(0);
    expect(mem.maxMb).toBeLessThan(MAX_RSS_MB);
    // Growth flattens: the last third of the run peaks at most 30 % above the middle third.
    if (DURATION_S >= 60) expect(mem.lateGrowth).toBeLessThan(1.3);
  });
});
