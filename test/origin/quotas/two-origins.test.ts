import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";

// Two real origin processes (each with its own embedded ClickHouse, as chDB requires) that share
// one QUOTA_DB_DIR: a client that spends its budget on one is refused by the other. Requests come
// from 127.0.0.1 straight to the origins, as a client bypassing the edge would.

const EDGE_SECRET = "edge-secret-two-origins-0123456789";
const quotaEnv = {
  EDGE_SHARED_SECRET: EDGE_SECRET,
  QUOTA_NETWORK_DAILY_S: "1",
  QUOTA_NETWORK_WEEKLY_S: "1000000",
  QUOTA_NETWORK_MONTHLY_S: "1000000",
  QUOTA_MIN_CHARGE_S: "0.6",
};

let quotaDir: string;
let a: OriginProcess;
let b: OriginProcess;

beforeAll(async () => {
  quotaDir = mkdtempSync(path.join(tmpdir(), "shared-quotas-"));
  [a, b] = await Promise.all([
    startOriginProcess({ env: { ...quotaEnv, QUOTA_DB_DIR: quotaDir } }),
    startOriginProcess({ env: { ...quotaEnv, QUOTA_DB_DIR: quotaDir } }),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  a?.cleanup();
  b?.cleanup();
  rmSync(quotaDir, { recursive: true, force: true });
});

const METERED = "/api/_/account_metadata";

async function hit(origin: OriginProcess, headers: Record<string, string> = {}) {
  const res = await fetch(`${origin.url}${METERED}`, { headers });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), remaining: res.headers.get("x-ratelimit-remaining") };
}

describe("one budget across origin processes", () => {
  it("the two origins really are separate processes with separate data", () => {
    expect(a.child.pid).not.toBe(b.child.pid);
    expect(a.dataDir).not.toBe(b.dataDir);
  });

  it("spending the budget on origin A makes origin B refuse the same client", async () => {
    // 1 s budget, ≥ 0.6 s per request: A serves two requests, the third is refused.
    expect((await hit(a)).status).toBe(200);
    expect((await hit(a)).status).toBe(200);
    expect((await hit(a)).status).toBe(429);
    // B has never seen this client, yet it reads the same counters.
    const fromB = await hit(b);
    expect(fromB.status).toBe(429);
    expect(Number(fromB.retryAfter)).toBeGreaterThan(0);
  });

  it("a forged X-Forwarded-For sent straight to the origin does not change the quota key", async () => {
    for (const origin of [a, b]) {
      for (const forged of ["198.51.100.7", "2001:db8::1", "192.0.2.1, 10.0.0.1"]) {
        const r = await hit(origin, { "x-forwarded-for": forged });
        expect(r.status, `${forged} via ${origin.url}`).toBe(429);
      }
      // A wrong edge secret is the same as none.
      const wrong = await hit(origin, { "x-forwarded-for": "198.51.100.7", "x-ooni-edge-auth": "not-the-edge-secret-000000" });
      expect(wrong.status).toBe(429);
    }
  });

  it("only the edge (with the shared secret) can name the client address", async () => {
    const viaEdge = await hit(b, { "x-forwarded-for": "198.51.100.7", "x-ooni-edge-auth": EDGE_SECRET });
    expect(viaEdge.status).toBe(200);
    expect(viaEdge.remaining).toBe("0");
  });
});
