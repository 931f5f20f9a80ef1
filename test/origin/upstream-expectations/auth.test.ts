import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startOriginProcess } from "../../support/origin-process";
import { freshEmail, startUpstream, type Upstream } from "./support";

// ooni/backend ooniapi/services/ooniauth/tests/test_auth_v1.py (32d8349d), as our tests.

const ADMIN = "upstream-admin@example.com";
let u: Upstream;
beforeAll(async () => {
  u = await startUpstream({ ADMIN_EMAILS: ADMIN });
});
afterAll(async () => {
  await u?.close();
});

describe("ooniauth v1", () => {
  it("test_login_user_bogus_token: 401 Invalid credentials", async () => {
    const r = await u.req("GET", "/api/v1/user_login?k=BOGUS");
    expect(r.status).toBe(401);
    // deviation (shape only): upstream's FastAPI says {"detail": …}; ours is the house {"error": …}
    expect(r.json).toEqual({ error: "Invalid credentials" });
  });

  it("test_user_register_non_valid_email: an address without a domain is refused, naming email_address", async () => {
    const r = await u.req("POST", "/api/v1/user_register", { body: { email_address: "nick@localhost", redirect_to: "https://explorer.ooni.org/" } });
    expect(r.status).toBe(400); // 422 → 400
    expect(r.json.parameter).toBe("email_address");
  });

  it("test_user_register_non_valid_redirect: another host, or http, is refused", async () => {
    for (const redirect_to of ["https://BOGUS.example.com", "http://explorer.ooni.org/"]) {
      const r = await u.req("POST", "/api/v1/user_register", { body: { email_address: "nick@a.org", redirect_to } });
      expect(r.status, redirect_to).toBe(400); // 422 → 400
    }
  });

  it("test_user_register_missing_redirect: a valid address and redirect is 200", async () => {
    const r = await u.req("POST", "/api/v1/user_register", { body: { email_address: "nick@a.org", redirect_to: "https://explorer.ooni.org/" } });
    expect(r.status).toBe(200);
  });

  it("test_user_refresh: a bad bearer is refused; a user's metadata and refresh work", async () => {
    expect((await u.req("GET", "/api/v1/user_refresh_token", { bearer: "invalidtoken" })).status).not.toBe(200);
    const { bearer, token } = await u.login(freshEmail("refresh"));
    expect(token.length).toBeGreaterThan(200); // upstream: the login link's token is > 200 characters
    expect((await u.req("GET", "/api/_/account_metadata", { bearer })).json).toEqual({ logged_in: true, role: "user" });
    const r = await u.req("GET", "/api/v1/user_refresh_token", { bearer });
    expect(r.json.bearer.length).toBeGreaterThan(100);
  });

  it("test_user_register_and_refresh / _and_get_metadata: logged out first, a user after login", async () => {
    expect((await u.req("GET", "/api/_/account_metadata")).json).toMatchObject({ logged_in: false });
    const { bearer, redirect_to } = await u.login(freshEmail("meta"), "https://run.ooni.org/");
    expect(redirect_to).toBe("https://run.ooni.org/");
    expect((await u.req("GET", "/api/_/account_metadata", { bearer })).json).toEqual({ logged_in: true, role: "user" });
  });

  it("test_admin_register_and_get_metadata: an admin address logs in as admin", async () => {
    expect((await u.req("GET", "/api/_/account_metadata")).json).toEqual({ logged_in: false, role: "" });
    const { bearer } = await u.login(ADMIN);
    expect((await u.req("GET", "/api/_/account_metadata", { bearer })).json).toEqual({ logged_in: true, role: "admin" });
  });

  it("test_user_register_timetravel: user_login answers email_address; the link expires", async () => {
    const email = freshEmail("timetravel");
    const { bearer, email_address, token } = await u.login(email);
    expect(bearer.length).toBeGreaterThan(100);
    expect(email_address).toBe(email);
    // Five years on (upstream freezes the clock), the same link is refused.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 5 * 365 * 86_400_000 });
    try {
      const r = await u.req("GET", `/api/v1/user_login?k=${encodeURIComponent(token)}`);
      expect(r.status).not.toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it("test_user_register_misconfigured_email: a mail failure is not a 200", { timeout: 60_000 }, async () => {
    // Upstream mocks a failing SES client; here the mail relay is unreachable (SMTP to a closed
    // port), in an origin of its own (embedded chDB allows one data directory per process).
    const broken = await startOriginProcess({ env: { SMTP_HOST: "127.0.0.1", SMTP_PORT: "9", SMTP_REQUIRE_TLS: "false" } });
    try {
      const r = await fetch(`${broken.url}/api/v1/user_register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email_address: "nick@a.org", redirect_to: "https://explorer.ooni.org/" }),
      });
      expect(r.status).not.toBe(200);
      expect(typeof ((await r.json()) as { error: unknown }).error).toBe("string");
    } finally {
      await broken.stop();
      broken.cleanup();
    }
  });
});
