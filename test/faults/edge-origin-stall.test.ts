import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeProcess, type EdgeProcess } from "../contract/edge-process";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { report, scale } from "../support/reliability";

// The origin stalls (SIGSTOP: the process is there, its socket accepts connections, nothing
// answers) behind the real Worker. The edge answers its 504 JSON within the configured origin
// timeout — never a hang —, serves an Explorer aggregation it cached before as STALE
// (stale-if-error), and recovers once the origin runs again (SIGCONT).

const ORIGIN_TIMEOUT_MS = 2_000;
const SLACK_MS = 1_500;
const CONCURRENT = scale(24, 120);
const edgeSecret = randomBytes(24).toString("hex");
// An open-ended window is "recent": max-age = CACHE_RECENT_MAX_AGE_S (2 s here).
const AGG = "/api/v1/aggregation?probe_cc=IT&test_name=web_connectivity&since=2024-01-01";
const NEVER_CACHED = "/api/v1/aggregation?probe_cc=DE&since=2024-01-01";

let origin: OriginProcess;
let edge: EdgeProcess;

beforeAll(async () => {
  origin = await startOriginProcess({
    env: { EDGE_SHARED_SECRET: edgeSecret, TIMERS_IN_ORIGIN: "false", CACHE_RECENT_MAX_AGE_S: "2" },
  });
  edge = await startEdgeProcess({
    originUrl: origin.url,
    edgeSecret,
    noInspector: true,
    runtime: "miniflare", // the Worker's own answers, without wrangler dev's proxy in front
    vars: { ORIGIN_TIMEOUT_MS: String(ORIGIN_TIMEOUT_MS) },
    // No stale-while-revalidate on the aggregation: past its 2 s the entry is only good as stale-if-error.
    configure: (c) => ({
      ...c,
      cache: {
        ...c.cache,
        routes: c.cache.routes.map((r) => (r.prefix === "/api/v1/aggregation" ? { ...r, stale_while_revalidate_s: 0, stale_if_error_s: 3600 } : r)),
      },
    }),
  });
}, 150_000);

afterAll(async () => {
  if (origin?.child.exitCode === null) origin.child.kill("SIGCONT");
  await edge?.stop();
  await origin?.stop();
  origin?.cleanup();
});

interface Seen {
  what: string;
  status: number;
  ms: number;
  xCache: string | null;
  staleReason: string | null;
  body: string;
}

async function get(what: string, path: string, init: RequestInit = {}): Promise<Seen> {
  const t0 = performance.now();
  const res = await fetch(`${edge.url}${path}`, { ...init, signal: AbortSignal.timeout(ORIGIN_TIMEOUT_MS + 10_000) });
  const body = await res.text();
  return { what, status: res.status, ms: performance.now() - t0, xCache: res.headers.get("x-cache"), staleReason: res.headers.get("x-cache-stale-reason"), body };
}

describe("the origin stalled (SIGSTOP) behind the edge", () => {
  it("answers 504 JSON within the origin timeout, serves the cached aggregation stale, and recovers on SIGCONT", async () => {
    const miss = await get("fill", AGG);
    expect(miss.status).toBe(200);
    expect(miss.xCache).toBe("MISS");
    const fresh = (await get("hit", AGG));
    expect(fresh.xCache).toBe("HIT");
    await new Promise((r) => setTimeout(r, 2_500)); // past max-age = 2 s

    origin.child.kill("SIGSTOP");
    const stoppedAt = performance.now();
    const during = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => {
        switch (i % 4) {
          case 0:
            return get("cached aggregation", AGG);
          case 1:
            return get("uncached aggregation", NEVER_CACHED);
          case 2:
            return get("check-in", "/api/v1/check-in", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ probe_cc: "IT", probe_asn: "AS30722", platform: "linux", software_name: "ooniprobe-cli", software_version: "3.22.0", run_type: "timed", on_wifi: true, charging: false, web_connectivity: { category_codes: [] } }),
            });
          default:
            return get("test-helpers", "/api/v1/test-helpers");
        }
      }),
    );
    const stalledForMs = performance.now() - stoppedAt;
    origin.child.kill("SIGCONT");

    const stale = during.filter((s) => s.what === "cached aggregation");
    const errors = during.filter((s) => s.what !== "cached aggregation");
    const maxMs = Math.max(...during.map((s) => s.ms));
    for (const s of stale) {
      expect(s.status, s.body).toBe(200);
      expect(s.xCache).toBe("STALE");
      expect(s.staleReason).toBe("origin answered 504");
      expect(s.body).toBe(miss.body);
    }
    for (const s of errors) {
      expect(s.status, `${s.what}: ${s.body}`).toBe(504);
      expect(JSON.parse(s.body)).toMatchObject({ error: "origin timeout", timeout_ms: ORIGIN_TIMEOUT_MS });
    }
    // Within the timeout (plus slack), and not before it: the edge did wait for the origin.
    for (const s of during) expect(s.ms).toBeLessThan(ORIGIN_TIMEOUT_MS + SLACK_MS);
    for (const s of errors) expect(s.ms).toBeGreaterThan(ORIGIN_TIMEOUT_MS - 100);

    // Running again: answers come from the origin, and the aggregation is refreshed.
    const t0 = performance.now();
    const back = await get("after SIGCONT", "/api/v1/test-helpers");
    expect(back.status).toBe(200);
    const refreshed = await get("refill", AGG);
    expect(refreshed.status).toBe(200);
    expect(refreshed.xCache).toBe("MISS");
    expect((await get("hit again", AGG)).xCache).toBe("HIT");
    const recoveredMs = performance.now() - t0;

    report("edge-origin-stall", "origin SIGSTOPped behind the edge", {
      requests: during.length,
      stale_served: stale.length,
      json_504: errors.length,
      hung: 0,
      origin_timeout_ms: ORIGIN_TIMEOUT_MS,
      max_latency_ms: Math.round(maxMs),
      min_504_latency_ms: Math.round(Math.min(...errors.map((s) => s.ms))),
      stalled_for_ms: Math.round(stalledForMs),
      recovered_in_ms: Math.round(recoveredMs),
    });
  });
});
