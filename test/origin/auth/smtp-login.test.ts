import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { decodeClaims, JWT_SECRET, loginLinkFrom, scanForEmails, startSmtpSink, type SmtpSink } from "./support";

// The whole login flow through the real origin and a real SMTP server on loopback: register,
// follow the emailed link, refresh, roles, expunge. Afterwards everything the origin persisted or
// logged is scanned for the addresses used.

const USER = "Alice.Tester@Example.org";
const ADMIN = "root-admin@example.net";
const OTHER = "bob+ooni@example.com";
const REFUSED = "nobody@refused.test";

let smtp: SmtpSink;
let origin: OriginProcess;

beforeAll(async () => {
  smtp = await startSmtpSink();
  origin = await startOriginProcess({
    env: {
      LOG_LEVEL: "trace",
      JWT_SECRET,
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(smtp.port),
      SMTP_REQUIRE_TLS: "false",
      MAIL_FROM: "OONI Test <login@ooni.test>",
      ADMIN_EMAILS: ADMIN.toUpperCase(),
      LOGIN_REDIRECT_ORIGINS: "https://explorer.ooni.org,http://localhost:3100",
    },
  });
});

afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
  await smtp?.close();
});

async function api(method: string, p: string, opts: { bearer?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${origin.url}${p}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/** Registers `email`, reads the message the SMTP server received, and logs in with its link. */
async function login(email: string, redirectTo = "https://explorer.ooni.org/country/IT") {
  const r = await api("POST", "/api/v1/user_register", { body: { email_address: email, redirect_to: redirectTo } });
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ msg: "ok" });
  const mail = await smtp.next();
  expect(mail.to).toEqual([email.toLowerCase()]);
  const link = loginLinkFrom(mail.raw);
  const l = await api("GET", `/api/v1/user_login?k=${encodeURIComponent(link.searchParams.get("token")!)}`);
  expect(l.status).toBe(200);
  // Explorer keeps this and sends it back when creating a finding (upstream answers it too).
  expect(l.json!.email_address).toBe(email.toLowerCase());
  return { link, bearer: l.json!.bearer as string, redirectTo: l.json!.redirect_to as string };
}

describe("email login through SMTP", () => {
  let userBearer: string;

  it("emails a link to the requesting site's /login, and the link yields a session", async () => {
    const { link, bearer, redirectTo } = await login(USER);
    expect(link.origin).toBe("https://explorer.ooni.org");
    expect(link.pathname).toBe("/login");
    expect(redirectTo).toBe("https://explorer.ooni.org/country/IT");

    const claims = decodeClaims(bearer);
    const now = Date.now() / 1000;
    expect(claims.aud).toBe("user_auth");
    expect(claims.role).toBe("user");
    expect(claims.account_id).toMatch(/^[0-9a-f]{32}$/);
    expect(claims.login_time).toBeTypeOf("number");
    expect(claims.nbf).toBeLessThanOrEqual(now + 1);
    expect(claims.exp as number).toBeGreaterThan(now + 9 * 86_400);
    expect(claims.exp as number).toBeLessThanOrEqual(now + 10 * 86_400 + 2);
    // The address travels in the person's own bearer (as upstream), for Explorer's finding forms;
    // it is still never stored or logged (the scan at the end of this file).
    expect(claims.email_address).toBe(USER.toLowerCase());
    userBearer = bearer;
  });

  it("sends a multipart message from MAIL_FROM with the link in text and HTML", () => {
    const raw = smtp.messages[0]!.raw;
    expect(smtp.messages[0]!.from).toBe("login@ooni.test");
    expect(raw).toMatch(/^Subject: OONI Account activation/m);
    expect(raw).toMatch(/Content-Type: multipart\/alternative/);
    expect(raw).toMatch(/text\/html/);
  });

  it("the same address always maps to the same account, whatever its case", async () => {
    const again = await login(USER.toLowerCase(), "http://localhost:3100/");
    expect(decodeClaims(again.bearer).account_id).toBe(decodeClaims(userBearer).account_id);
  });

  it('account_metadata reports the session, and 200 {"logged_in": false, "role": ""} without one (as upstream)', async () => {
    expect((await api("GET", "/api/_/account_metadata", { bearer: userBearer })).json).toEqual({ logged_in: true, role: "user" });
    const anon = await api("GET", "/api/_/account_metadata");
    expect(anon.status).toBe(200);
    expect(anon.json).toEqual({ logged_in: false, role: "" });
    const junk = await api("GET", "/api/_/account_metadata", { bearer: "not-a-token" });
    expect(junk.status).toBe(200);
    expect(junk.json).toEqual({ logged_in: false, role: "" });
  });

  it("refresh issues a new bearer with the same login_time", async () => {
    const r = await api("GET", "/api/v1/user_refresh_token", { bearer: userBearer });
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const fresh = decodeClaims(r.json!.bearer as string);
    expect(fresh.login_time).toBe(decodeClaims(userBearer).login_time);
    expect(fresh.account_id).toBe(decodeClaims(userBearer).account_id);
    expect(fresh.role).toBe("user");
  });

  it("a user calling admin routes gets 403 Role not authorized", async () => {
    const set = await api("POST", "/api/v1/set_account_role", { bearer: userBearer, body: { email_address: OTHER, role: "admin" } });
    expect(set.status).toBe(403);
    expect(set.json).toEqual({ error: "Role not authorized" });
    const get = await api("GET", `/api/v1/get_account_role/${encodeURIComponent(OTHER)}`, { bearer: userBearer });
    expect(get.status).toBe(403);
    const q = await api("GET", "/api/_/quotas_summary", { bearer: userBearer });
    expect(q.status).toBe(403);
  });

  it("admin routes without a token are 401 Authentication required", async () => {
    const r = await api("POST", "/api/v1/set_account_role", { body: { email_address: OTHER, role: "admin" } });
    expect(r.status).toBe(401);
    expect(r.json).toEqual({ error: "Authentication required" });
  });

  describe("roles and expunge", () => {
    let adminBearer: string;

    beforeAll(async () => {
      adminBearer = (await login(ADMIN)).bearer;
    });

    it("an address in ADMIN_EMAILS logs in as admin (matched case-insensitively)", () => {
      expect(decodeClaims(adminBearer).role).toBe("admin");
    });

    it("get_account_role: configured admin → admin, unknown account → 404", async () => {
      expect((await api("GET", `/api/v1/get_account_role/${encodeURIComponent(ADMIN)}`, { bearer: adminBearer })).json).toEqual({ role: "admin" });
      const unknown = await api("GET", `/api/v1/get_account_role/${encodeURIComponent(OTHER)}`, { bearer: adminBearer });
      expect(unknown.status).toBe(404);
      expect(unknown.json).toEqual({ error: "Account not found" });
      const bad = await api("GET", "/api/v1/get_account_role/not-an-address", { bearer: adminBearer });
      expect(bad.status).toBe(400);
      expect(bad.json!.parameter).toBe("email_address");
    });

    it("set_account_role stores the role, and the account's old sessions stop working at once", async () => {
      const before = userBearer;
      const r = await api("POST", "/api/v1/set_account_role", { bearer: adminBearer, body: { email_address: USER, role: "admin" } });
      expect(r.status).toBe(200);
      expect((await api("GET", `/api/v1/get_account_role/${encodeURIComponent(USER)}`, { bearer: adminBearer })).json).toEqual({ role: "admin" });
      // The old token says "user": it is expunged rather than left to disagree with the table.
      expect((await api("GET", "/api/v1/user_refresh_token", { bearer: before })).status).toBe(401);
      // Logging in again (in the same second as the expunge) gives a working admin session.
      const again = await login(USER);
      expect(decodeClaims(again.bearer).role).toBe("admin");
      expect((await api("GET", "/api/_/quotas_summary", { bearer: again.bearer })).status).toBe(200);
      userBearer = again.bearer;
    });

    it("set_account_role validates the role and the address", async () => {
      const r = await api("POST", "/api/v1/set_account_role", { bearer: adminBearer, body: { email_address: USER, role: "root" } });
      expect(r.status).toBe(400);
      expect(r.json!.parameter).toBe("role");
      const e = await api("POST", "/api/v1/set_account_role", { bearer: adminBearer, body: { email_address: "x", role: "user" } });
      expect(e.status).toBe(400);
      expect(e.json!.parameter).toBe("email_address");
    });

    it("set_session_expunge rejects every earlier session of the account, not later ones", async () => {
      const victim = (await login(OTHER)).bearer;
      expect((await api("GET", "/api/_/account_metadata", { bearer: victim })).status).toBe(200);
      const r = await api("POST", "/api/v1/set_session_expunge", { bearer: adminBearer, body: { email_address: OTHER } });
      expect(r.status).toBe(200);
      const meta = await api("GET", "/api/_/account_metadata", { bearer: victim });
      expect(meta.status).toBe(200);
      expect(meta.json).toEqual({ logged_in: false, role: "" });
      expect((await api("GET", "/api/v1/user_refresh_token", { bearer: victim })).status).toBe(401);
      // Other accounts are untouched.
      expect((await api("GET", "/api/_/account_metadata", { bearer: userBearer })).status).toBe(200);
      const fresh = (await login(OTHER)).bearer;
      expect((await api("GET", "/api/v1/user_refresh_token", { bearer: fresh })).status).toBe(200);
    });
  });

  describe("registration input", () => {
    it("redirect_to outside LOGIN_REDIRECT_ORIGINS is a 400 naming redirect_to; no mail is sent", async () => {
      const sent = smtp.messages.length;
      for (const redirect_to of ["https://evil.example/", "http://explorer.ooni.org/", "https://explorer.ooni.org.evil.example/", "not a url", "https://u:p@explorer.ooni.org/"]) {
        const r = await api("POST", "/api/v1/user_register", { body: { email_address: OTHER, redirect_to } });
        expect(r.status, redirect_to).toBe(400);
        expect(r.json!.parameter).toBe("redirect_to");
      }
      expect(smtp.messages.length).toBe(sent);
    });

    it("a malformed address is a 400 naming email_address, and the answer does not echo it", async () => {
      for (const email_address of ["no-at-sign", "a@", "@example.org", "a b@example.org", 42]) {
        const r = await api("POST", "/api/v1/user_register", { body: { email_address, redirect_to: "https://explorer.ooni.org/" } });
        expect(r.status).toBe(400);
        expect(r.json!.parameter).toBe("email_address");
        if (typeof email_address === "string") expect(JSON.stringify(r.json)).not.toContain(email_address);
      }
      const noBody = await fetch(`${origin.url}/api/v1/user_register`, { method: "POST", body: "nope", headers: { "content-type": "application/json" } });
      expect(noBody.status).toBe(400);
    });

    it("answers a known and an unknown account identically", async () => {
      const known = await api("POST", "/api/v1/user_register", { body: { email_address: USER, redirect_to: "https://explorer.ooni.org/" } });
      const unknown = await api("POST", "/api/v1/user_register", { body: { email_address: "never-seen@example.org", redirect_to: "https://explorer.ooni.org/" } });
      expect(known.status).toBe(unknown.status);
      expect(known.json).toEqual(unknown.json);
      await smtp.next();
      await smtp.next();
    });

    it("a recipient the relay refuses is a 400 'Unable to send the email'", async () => {
      const r = await api("POST", "/api/v1/user_register", { body: { email_address: REFUSED, redirect_to: "https://explorer.ooni.org/" } });
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: "Unable to send the email" });
    });

    it("CORS: a configured login site may call the API from the browser, others may not", async () => {
      const ok = await fetch(`${origin.url}/api/v1/user_refresh_token`, {
        method: "OPTIONS",
        headers: { origin: "https://explorer.ooni.org", "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
      });
      expect(ok.status).toBe(204);
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://explorer.ooni.org");
      expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
      const evil = await fetch(`${origin.url}/api/v1/user_refresh_token`, {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
      });
      expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  it("no email address is in any table, log line or file; SMTP mode writes no outbox", async () => {
    const accountId = decodeClaims(userBearer).account_id as string;
    expect(await origin.stop()).toBe(0);
    expect(existsSync(path.join(origin.dataDir, "outbox"))).toBe(false);
    const report = await scanForEmails({
      dataDir: origin.dataDir,
      logs: origin.logs,
      emails: [USER, ADMIN, OTHER, REFUSED, "never-seen@example.org"],
      control: accountId,
    });
    // The scan is real: it finds the account id (the positive control) in the accounts table.
    expect(report.controlHits).toContain("accounts.account_id");
    expect(report.scannedColumns).toBeGreaterThan(20);
    // And the origin did log the requests it served (so the log scan read real lines).
    expect(origin.logs.some((l) => l.includes('"path":"/api/v1/get_account_role/[redacted]"'))).toBe(true);
    expect(report.tables).toEqual([]);
    expect(report.logs).toEqual([]);
    expect(report.files).toEqual([]);
  });
});
