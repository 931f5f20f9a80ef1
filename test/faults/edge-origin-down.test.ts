import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeProcess, type EdgeProcess } from "../contract/edge-process";
import { Ledger, verifyStored, waitForFastpath } from "../support/ledger";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { GaveUp, measurementTemplates, openReport, submitMeasurement, submitToReport, type Attempt, type ClientContext } from "../support/probe-client";
import { report, scale } from "../support/reliability";

// The origin SIGKILLed and restarted (same port, same DATA_DIR) under a submission storm that goes
// through the real Worker: while it is down the edge answers JSON 5xx at once — never a hang —,
// probes retry, and in the end every acknowledged measurement is in the spool byte for byte and
// scored into ClickHouse, none twice.

const CLIENTS = scale(16, 40);
const STORM_MS = scale(14_000, 75_000);
const KILLS = scale(1, 4);
const ORIGIN_TIMEOUT_MS = 4_000;
/** An attempt must finish within the origin timeout plus this. */
const SLACK_MS = 2_000;
const edgeSecret = randomBytes(24).toString("hex");
const ORIGIN_ENV = { EDGE_SHARED_SECRET: edgeSecret, TIMERS_IN_ORIGIN: "false", FASTPATH_WORKERS: "1" };

const dataDir = mkdtempSync(path.join(tmpdir(), "ooni-edge-origin-down-"));
let origin: OriginProcess;
let edge: EdgeProcess;
const dispatcher = new Agent({ connections: 256 });

beforeAll(async () => {
  origin = await startOriginProcess({ dataDir, env: ORIGIN_ENV });
  // Under Miniflare directly (no wrangler dev proxy in front, whose hop breaks under bursts): every
  // answer the clients see is the Worker's.
  edge = await startEdgeProcess({ originUrl: origin.url, edgeSecret, noInspector: true, runtime: "miniflare", vars: { ORIGIN_TIMEOUT_MS: String(ORIGIN_TIMEOUT_MS) } });
}, 150_000);

afterAll(async () => {
  await edge?.stop();
  await origin?.stop();
  await dispatcher.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the origin killed and restarted behind the edge", () => {
  it("answers JSON 5xx quickly while it is down; after retries nothing acknowledged is lost or stored twice", async () => {
    const { templates, source } = measurementTemplates();
    const ledger = new Ledger();
    const attempts: Attempt[] = [];
    const downWindows: { from: number; to: number }[] = [];
    const failures: string[] = [];
    const t0 = performance.now();
    const stopAt = t0 + STORM_MS;

    const client = async (i: number) => {
      const ctx: ClientContext = {
        baseUrl: edge.url,
        clientIp: `10.20.${i}.${1 + i}`,
        hangLimitMs: ORIGIN_TIMEOUT_MS + SLACK_MS + 3_000,
        dispatcher,
        log: (a) => attempts.push(a),
        retryUntil: stopAt + 90_000,
      };
      let n = i;
      while (performance.now() < stopAt) {
        const m = templates[n++ % templates.length]!;
        try {
          const rid = await openReport(ctx, m);
          for (let k = 0; k < 3; k++) await submitToReport(ctx, ledger, rid, m);
          await submitMeasurement(ctx, ledger, m);
        } catch (err) {
          if (!(err instanceof GaveUp)) throw err;
          failures.push(err.message);
        }
      }
    };

    // Kills spread over the storm; each restart on the same port and data directory.
    const killer = async () => {
      for (let k = 0; k < KILLS; k++) {
        const killAt = t0 + ((k + 1) * STORM_MS) / (KILLS + 1);
        await new Promise((r) => setTimeout(r, Math.max(0, killAt - performance.now())));
        const from = performance.now();
        await origin.kill();
        await new Promise((r) => setTimeout(r, 1_000)); // down for a moment before the restart begins
        origin = await startOriginProcess({ dataDir, port: origin.port, env: ORIGIN_ENV });
        downWindows.push({ from, to: performance.now() });
      }
    };
    await Promise.all([killer(), ...Array.from({ length: CLIENTS }, (_, i) => client(i))]);

    const isDown = (a: Attempt) => downWindows.some((w) => a.at - a.ms >= w.from && a.at <= w.to);
    const ok = attempts.filter((a) => a.status === 200);
    const json5xx = attempts.filter((a) => a.status >= 500 && a.jsonError);
    const whileDown = attempts.filter(isDown);
    const maxMs = Math.max(...attempts.map((a) => a.ms));
    const maxDownMs = Math.max(0, ...whileDown.map((a) => a.ms));
    const others = attempts.filter((a) => a.status !== 200 && !(a.status >= 500 && a.jsonError));

    const caughtUp = await waitForFastpath(dataDir, 120_000);
    await origin.stop();
    const stored = await verifyStored(dataDir, ledger.acks);

    report("edge-origin-down", `origin SIGKILLed ${KILLS}x under a submission storm through the edge`, {
      acknowledged: stored.acknowledged,
      stored: stored.stored,
      duplicates: stored.duplicates,
      clients: CLIENTS,
      measurements: source,
      requests: attempts.length,
      answered_200: ok.length,
      json_5xx: json5xx.length,
      other_answers: others.length,
      hung: attempts.filter((a) => a.hung).length,
      answered_while_down: whileDown.length,
      max_latency_while_down_ms: Math.round(maxDownMs),
      max_latency_ms: Math.round(maxMs),
      gave_up: failures.length,
      unacknowledged_copies: stored.unacknowledged_copies,
      fastpath_caught_up_ms: caughtUp.waitedMs,
    });

    if (others.length) console.log(edge.logs.slice(-40).join("\n"));
    expect(others.map((a) => `${a.kind} ${a.status} ${a.detail} at ${Math.round(a.at - a.ms - t0)}+${Math.round(a.ms)} ms, down ${JSON.stringify(downWindows.map((w) => [Math.round(w.from - t0), Math.round(w.to - t0)]))}`)).toEqual([]);
    expect(failures).toEqual([]);
    expect(json5xx.length).toBeGreaterThan(0); // the kills were seen
    expect(whileDown.length).toBeGreaterThan(0);
    expect(maxMs).toBeLessThan(ORIGIN_TIMEOUT_MS + SLACK_MS);
    expect(stored.problems).toEqual([]);
    expect(stored.in_spool).toBe(stored.acknowledged);
    expect(stored.stored).toBe(stored.acknowledged);
    expect(stored.duplicates).toBe(0);
    expect(stored.acknowledged).toBeGreaterThan(CLIENTS * 4);
  });
});
