import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { JWT_SECRET, loginLinkFrom } from "./support";

// /api/v2/ooniauth/* as the OONI Run app (github:ooni/run 243b499, lib/api.ts and hooks/useUser.tsx)
// calls it, against the real origin on loopback: user-login emails the link, POST user-session
// with the link's token logs in (once), POST user-session with only the bearer refreshes, GET
// user-session says who is logged in. Without these routes the Run app could not log anyone in.

const ADMIN = "erin.admin@example.org";
const RUN = "https://run.ooni.org";
let origin: OriginProcess;
let outbox: string;

beforeAll(async () => {
  origin = await startOriginProcess({ env: { JWT_SECRET, ADMIN_EMAILS: ADMIN } });
  outbox = path.join(origin.dataDir, "outbox");
});
afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

const emls = () => {
  try {
    return readdirSync(outbox).filter((f) => f.endsWith(".eml")).sort();
  } catch {
    return [];
  }
};
async function call(method: string, p: string, o: { body?: unknown; rawBody?: string; bearer?: string } = {}) {
  const headers: Record<string, string> = {};
  if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
  if (o.body !== undefined || o.rawBody !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${origin.url}${p}`, { method, headers, body: o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body)) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}
/** user-login as the Run app sends it; returns the answer and the token from the emailed link. */
async function emailLink(email: string, redirectTo = `${RUN}/en`) {
  const before = new Set(emls());
  const r = await call("POST", "/api/v2/ooniauth/user-login", { body: { email_address: email, redirect_to: redirectTo } });
  const added = emls().filter((f) => !before.has(f));
  const link = added.length ? loginLinkFrom(readFileSync(path.join(outbox, added[0]!), "utf8")) : null;
  return { r, link };
}

describe("ooniauth v2 (the OONI Run app's login)", () => {
  it("user-login emails a link to the site's /login page and says when the link expires", async () => {
    const { r, link } = await emailLink("Frank@Example.org");
    expect(r.status).toBe(200);
    expect(r.json.email_address).toBe("frank@example.org");
    const exp = Date.parse(r.json.login_token_expiration);
    expect(exp - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(exp - Date.now()).toBeLessThanOrEqual(24 * 3600_000 + 5_000);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(link!.origin + link!.pathname).toBe(`${RUN}/login`);
  });

  it("user-login refuses a site that is not a login site, and a bad address, with 400 JSON", async () => {
    const { r: off, link } = await emailLink("frank@example.org", "https://evil.example/en");
    expect(off.status).toBe(400);
    expect(off.json.parameter).toBe("redirect_to");
    expect(link).toBeNull();
    const bad = await call("POST", "/api/v2/ooniauth/user-login", { body: { email_address: "not-an-address", redirect_to: RUN } });
    expect(bad.status).toBe(400);
    expect(typeof bad.json.error).toBe("string");
  });

  it("POST user-session with the link's token logs in once; the session works on v1 routes too", async () => {
    const { link } = await emailLink("grace@example.org");
    const token = link!.searchParams.get("token")!;
    const s = await call("POST", "/api/v2/ooniauth/user-session", { body: { login_token: token } });
    expect(s.status).toBe(200);
    expect(s.json).toMatchObject({ redirect_to: `${RUN}/en`, email_address: "grace@example.org", role: "user", is_logged_in: true });
    expect(s.json.account_id).toMatch(/^[0-9a-f]{32}$/);
    expect(Math.abs(Date.parse(s.json.login_time) - Date.now())).toBeLessThan(60_000);
    const bearer = s.json.session_token as string;
    expect((await call("GET", "/api/_/account_metadata", { bearer })).json).toEqual({ logged_in: true, role: "user" });
    // the OONI Run list of "my links" needs the session
    expect((await call("GET", "/api/v2/oonirun/links?is_mine=true", { bearer })).status).toBe(200);
    const again = await call("POST", "/api/v2/ooniauth/user-session", { body: { login_token: token } });
    expect(again.status).toBe(401);
    expect(again.json.error).toBe("Login link already used");
  });

  it("GET user-session: who the bearer is, or the logged-out answer", async () => {
    const { link } = await emailLink(ADMIN);
    const bearer = (await call("POST", "/api/v2/ooniauth/user-session", { body: { login_token: link!.searchParams.get("token") } })).json.session_token;
    const me = await call("GET", "/api/v2/ooniauth/user-session", { bearer });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ session_token: "", email_address: ADMIN, role: "admin", is_logged_in: true });
    for (const b of [undefined, "garbage", `${bearer}x`]) {
      const out = await call("GET", "/api/v2/ooniauth/user-session", { bearer: b });
      expect(out.status).toBe(200);
      expect(out.json).toEqual({ session_token: "", redirect_to: "", email_address: "", account_id: "", role: "", login_time: null, is_logged_in: false });
    }
  });

  it("POST user-session without a token refreshes the bearer's session (no body, as the Run app sends it)", async () => {
    const { link } = await emailLink("heidi@example.org");
    const first = (await call("POST", "/api/v2/ooniauth/user-session", { body: { login_token: link!.searchParams.get("token") } })).json;
    const r = await call("POST", "/api/v2/ooniauth/user-session", { bearer: first.session_token });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ email_address: "heidi@example.org", account_id: first.account_id, role: "user", is_logged_in: true, login_time: first.login_time });
    expect((await call("GET", "/api/_/account_metadata", { bearer: r.json.session_token })).json).toEqual({ logged_in: true, role: "user" });
    const empty = await call("POST", "/api/v2/ooniauth/user-session", { body: {}, bearer: first.session_token });
    expect(empty.status).toBe(200);
  });

  it("POST user-session refuses with 401 or 400 JSON: no session, a bad token, a malformed body", async () => {
    const none = await call("POST", "/api/v2/ooniauth/user-session");
    expect(none.status).toBe(401);
    expect(none.json.error).toBe("no valid session found");
    const forged = await call("POST", "/api/v2/ooniauth/user-session", { body: { login_token: "a.b.c" } });
    expect(forged.status).toBe(401);
    const notJson = await call("POST", "/api/v2/ooniauth/user-session", { rawBody: "{" });
    expect(notJson.status).toBe(400);
    const wrongType = await call("POST", "/api/v2/ooniauth/user-session", { body: { login_token: 5 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.parameter).toBe("login_token");
  });

  it("a browser on the Run site may call user-login (CORS preflight)", async () => {
    const res = await fetch(`${origin.url}/api/v2/ooniauth/user-session`, {
      method: "OPTIONS",
      headers: { origin: RUN, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get("access-control-allow-origin")).toBe(RUN);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
  });
});
