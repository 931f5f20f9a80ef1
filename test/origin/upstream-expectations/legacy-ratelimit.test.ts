import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type Upstream } from "./support";

// ooni/backend api/tests/integ/test_integration.py, its rate-limit tests (the legacy Flask API,
// 32d8349d), as our tests. Upstream charges each client address the time its requests take
// against a daily budget of 4000 s and says what is left in X-RateLimit-Remaining; so do we (per
// network, docs/accounts.md). The budget here is 5 s and each request costs at least 1 s, so the
// counts are exact without timing anything. Client addresses come from the edge (X-Forwarded-For
// with the shared secret), where upstream reads X-Real-IP from its nginx.

const EDGE_SECRET = "edge-secret-for-legacy-ratelimit-tests-0";
const EXPLORER_NET = "37.218.242.0/24"; // upstream's unmetered Explorer server address is in it
let u: Upstream;
beforeAll(async () => {
  u = await startUpstream({
    EDGE_SHARED_SECRET: EDGE_SECRET,
    QUOTA_NETWORK_DAILY_S: "5",
    QUOTA_NETWORK_WEEKLY_S: "1000",
    QUOTA_NETWORK_MONTHLY_S: "1000",
    QUOTA_MIN_CHARGE_S: "1",
    QUOTA_ALLOWLIST: EXPLORER_NET,
  });
});
afterAll(async () => {
  await u?.close();
});

const from = (ip: string, p: string) => u.req("GET", p, { headers: { "x-ooni-edge-auth": EDGE_SECRET, "x-forwarded-for": ip } });

describe("legacy rate limits", () => {
  it("test_redirects_and_rate_limit_basic: metered reads say what is left", async () => {
    const a = await from("203.0.113.10", "/api/_/test_names");
    expect(a.status).toBe(200);
    expect(Number(a.headers.get("x-ratelimit-remaining"))).toBe(4);
    const b = await from("203.0.113.11", "/api/_/test_names"); // the same /24: the same budget
    expect(Number(b.headers.get("x-ratelimit-remaining"))).toBe(3);
    // deviation (docs/compat.md): upstream's legacy /stats and /files redirects are not offered
    expect((await from("198.51.100.10", "/stats")).status).toBe(404);
    expect((await from("198.51.100.10", "/files")).status).toBe(404);
  });

  it("test_redirects_and_rate_limit_for_explorer: an allowlisted network is not metered", async () => {
    for (let i = 0; i < 8; i++) {
      const r = await from("37.218.242.149", "/api/_/test_names");
      expect(r.status).toBe(200);
      expect(r.headers.get("x-ratelimit-remaining")).toBeNull();
    }
  });

  it("test_redirects_and_rate_limit_spin: each request is charged", async () => {
    const left: number[] = [];
    for (let i = 0; i < 3; i++) left.push(Number((await from("192.0.2.10", "/api/_/test_names")).headers.get("x-ratelimit-remaining")));
    expect(left).toEqual([4, 3, 2]);
  });

  it("test_redirects_and_rate_limit_spin_to_zero: then 429", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8 && statuses.at(-1) !== 429; i++) statuses.push((await from("10.9.9.9", "/api/_/test_names")).status);
    expect(statuses.at(-1)).toBe(429);
    const refused = await from("10.9.9.9", "/api/_/test_names");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.json.error).toBe("quota exceeded");
  });

  it("test_redirects_and_rate_limit_spin_to_zero_unmetered: /health always answers", async () => {
    // the network of the previous test is out of budget
    expect((await from("10.9.9.9", "/api/_/test_names")).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await from("10.9.9.9", "/health")).status).toBe(200);
  });
});
