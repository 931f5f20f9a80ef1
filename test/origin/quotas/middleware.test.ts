import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../origin/src/app";
import { loadConfig } from "../../../origin/src/config";
import { createLogger } from "../../../origin/src/logger";
import { QuotaStore } from "../../../origin/src/quotas/store";
import { closeServices, openServices, type Services } from "../../../origin/src/services";
import { JWT_SECRET, mintToken } from "../auth/support";

// The quota middleware in the real app with real services on a temp directory; only the quota
// store's clock is fake, so refill can be shown without waiting. Client addresses arrive the way
// the edge sends them (X-Forwarded-For + the shared secret).

const EDGE_SECRET = "edge-secret-for-quota-tests-0123";
const DAY_BUDGET = 1; // seconds
const MIN_CHARGE = 0.6; // every request costs at least this: two requests fit, the third does not

let dataDir: string;
let services: Services;
let app: ReturnType<typeof createApp>;
let now = 1_800_000_000_000;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "quota-mw-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    EDGE_SHARED_SECRET: EDGE_SECRET,
    JWT_SECRET,
    QUOTA_NETWORK_DAILY_S: String(DAY_BUDGET),
    QUOTA_NETWORK_WEEKLY_S: "1000000",
    QUOTA_NETWORK_MONTHLY_S: "1000000",
    QUOTA_ACCOUNT_DAILY_S: String(DAY_BUDGET),
    QUOTA_ACCOUNT_WEEKLY_S: "0",
    QUOTA_ACCOUNT_MONTHLY_S: "0",
    QUOTA_MIN_CHARGE_S: String(MIN_CHARGE),
    QUOTA_ALLOWLIST: "192.0.2.0/24,2001:db8:f00d::/48",
  });
  services = await openServices(config, createLogger("silent"));
  await services.quotas!.close();
  services.quotas = new QuotaStore({ dir: config.quotas.dir, network: config.quotas.network, account: config.quotas.account, now: () => now });
  app = createApp(services);
});

afterAll(async () => {
  if (services) await closeServices(services);
  rmSync(dataDir, { recursive: true, force: true });
});

async function req(p: string, ip: string, bearer?: string) {
  const headers: Record<string, string> = { "x-ooni-edge-auth": EDGE_SECRET, "x-forwarded-for": ip };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await app.request(p, { headers });
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    remaining: res.headers.get("x-ratelimit-remaining"),
    json: (await res.json()) as Record<string, unknown>,
  };
}

const METERED = "/api/_/account_metadata"; // cheap; without a valid bearer it answers 200 {"logged_in": false} (as upstream)

describe("network quotas", () => {
  let retryAfter: number;

  it("serves within budget with X-RateLimit-Remaining, then 429 with Retry-After", async () => {
    const r1 = await req(METERED, "203.0.113.5");
    expect(r1.status).toBe(200);
    expect(r1.remaining).toBe("0"); // 0.4 s left, floored
    const r2 = await req(METERED, "203.0.113.5");
    expect(r2.status).toBe(200);
    const r3 = await req(METERED, "203.0.113.5");
    expect(r3.status).toBe(429);
    expect(r3.json.error).toBe("quota exceeded");
    expect(r3.remaining).toBe("0");
    retryAfter = Number(r3.retryAfter);
    // Day bucket: ~0.2 s of debt at 1 s per day ≈ 17280 s.
    expect(retryAfter).toBeGreaterThan(17_000);
    expect(retryAfter).toBeLessThan(17_400);
    expect(r3.json.retry_after_s).toBe(retryAfter);
  });

  it("the whole /24 shares the budget; the next /24 does not", async () => {
    expect((await req(METERED, "203.0.113.250")).status).toBe(429);
    expect((await req(METERED, "203.0.114.5")).status).toBe(200);
  });

  it("the budget refills with time: allowed again after Retry-After", async () => {
    now += (retryAfter - 2) * 1000;
    expect((await req(METERED, "203.0.113.5")).status).toBe(429);
    now += 2000;
    expect((await req(METERED, "203.0.113.5")).status).toBe(200);
  });

  it("exempt paths (health, probe submission and check-in) are served and not charged", async () => {
    expect((await req(METERED, "203.0.113.5")).status).toBe(429);
    const h = await app.request("/health", { headers: { "x-ooni-edge-auth": EDGE_SECRET, "x-forwarded-for": "203.0.113.5" } });
    expect(h.status).not.toBe(429);
    expect(h.headers.get("x-ratelimit-remaining")).toBeNull();
    for (const p of ["/api/v1/check-in", "/api/v1/submit_measurement", "/report/20240101T000000Z_webconnectivity_IT_1_n1_x"]) {
      const r = await app.request(p, { method: "POST", headers: { "x-ooni-edge-auth": EDGE_SECRET, "x-forwarded-for": "203.0.113.5" } });
      expect(r.status, p).not.toBe(429);
    }
  });

  it("allowlisted networks are never limited nor counted", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await req(METERED, "192.0.2.10");
      expect(r.status).toBe(200);
      expect(r.remaining).toBeNull();
      const r6 = await req(METERED, "2001:db8:f00d:1::9");
      expect(r6.status).toBe(200);
    }
  });

  it("IPv6 clients are grouped by /48", async () => {
    await req(METERED, "2001:db8:1:1::1");
    await req(METERED, "2001:db8:1:2::2");
    expect((await req(METERED, "2001:db8:1:ffff::3")).status).toBe(429);
    expect((await req(METERED, "2001:db8:2::1")).status).toBe(200);
  });
});

describe("account quotas", () => {
  it("a session bearer is charged to its account too, whatever network it comes from", async () => {
    const accountId = "0123456789abcdef0123456789abcdef";
    const bearer = await mintToken({ accountId });
    expect((await req(METERED, "198.51.100.1", bearer)).status).toBe(200);
    expect((await req(METERED, "198.51.101.1", bearer)).status).toBe(200);
    const third = await req(METERED, "198.51.102.1", bearer);
    expect(third.status).toBe(429);
    // The network itself still has budget: without the bearer the request is served.
    expect((await req(METERED, "198.51.102.1")).status).toBe(200);
  });

  it("a forged bearer is not charged to the account it names (it is just anonymous)", async () => {
    const accountId = "fedcba9876543210fedcba9876543210";
    const forged = await mintToken({ accountId, secret: "wrong-secret-wrong-secret-wrong-secret" });
    for (const ip of ["198.51.110.1", "198.51.111.1", "198.51.112.1"]) {
      expect((await req(METERED, ip, forged)).status).toBe(200);
    }
  });

  it("quotas_summary (admin) lists networks and accounts with their budgets", async () => {
    const admin = await mintToken({ accountId: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", role: "admin" });
    const r = await req("/api/_/quotas_summary?limit=1000", "198.51.120.1", admin);
    expect(r.status).toBe(200);
    const body = r.json as { enabled: boolean; networks: { key: string; day_s: number }[]; accounts: { key: string; day_s: number }[] };
    expect(body.enabled).toBe(true);
    const n = body.networks.find((e) => e.key === "198.51.100.0/24"); // charged once, at the current clock
    expect(n?.day_s).toBeCloseTo(DAY_BUDGET - MIN_CHARGE, 1);
    expect(body.networks.some((e) => e.key === "2001:db8:1::/48")).toBe(true);
    expect(body.networks.some((e) => e.key.startsWith("192.0.2."))).toBe(false);
    const a = body.accounts.find((e) => e.key === "0123456789abcdef0123456789abcdef");
    expect(a!.day_s).toBeLessThan(0);
    expect(body.accounts.some((e) => e.key === "fedcba9876543210fedcba9876543210")).toBe(false);
    // Lowest daily budget first.
    const days = body.networks.map((e) => e.day_s);
    expect([...days].sort((x, y) => x - y)).toEqual(days);
    expect((await req("/api/_/quotas_summary?limit=0", "198.51.120.1", admin)).status).toBe(400);
  });
});
