import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { b64url, decodeClaims, JWT_SECRET, loginLinkFrom, mintToken, scanForEmails } from "./support";

// The default transport (a local outbox of .eml files), then every way of forging a session token.
// The test knows JWT_SECRET, so it can also mint well-signed tokens that are wrong in one respect.

const USER = "carol@example.org";
const ADMIN = "dana.admin@example.org";

let origin: OriginProcess;
let outbox: string;

beforeAll(async () => {
  origin = await startOriginProcess({ env: { LOG_LEVEL: "trace", JWT_SECRET, ADMIN_EMAILS: ADMIN } });
  outbox = path.join(origin.dataDir, "outbox");
});

afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

async function get(p: string, bearer?: string) {
  const res = await fetch(`${origin.url}${p}`, { headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function outboxFiles(): string[] {
  try {
    return readdirSync(outbox).filter((f) => f.endsWith(".eml")).sort();
  } catch {
    return [];
  }
}

async function loginViaOutbox(email: string): Promise<string> {
  const token = await linkViaOutbox(email);
  const l = await get(`/api/v1/user_login?k=${encodeURIComponent(token)}`);
  expect(l.status).toBe(200);
  return l.json.bearer as string;
}

/** Asks for a login link and returns the token from the emailed message, unused. */
async function linkViaOutbox(email: string): Promise<string> {
  const before = new Set(outboxFiles());
  const r = await fetch(`${origin.url}/api/v1/user_register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email_address: email, redirect_to: "https://test-lists.ooni.org/" }),
  });
  expect(r.status).toBe(200);
  const added = outboxFiles().filter((f) => !before.has(f));
  expect(added).toHaveLength(1);
  const raw = readFileSync(path.join(outbox, added[0]!), "utf8");
  expect(raw).toMatch(new RegExp(`^To: ${email.replace(/[.+]/g, "\\$&")}$`, "m"));
  return loginLinkFrom(raw).searchParams.get("token")!;
}

describe("outbox transport (default)", () => {
  let bearer: string;

  it("writes the login message as an .eml file whose link logs in", async () => {
    bearer = await loginViaOutbox(USER);
    expect((await get("/api/_/account_metadata", bearer)).json).toEqual({ logged_in: true, role: "user" });
  });

  it("names files without the address and keeps them private (0600)", () => {
    for (const f of outboxFiles()) {
      expect(f).not.toContain("@");
      expect(f).not.toContain("carol");
      expect(statSync(path.join(outbox, f)).mode & 0o777).toBe(0o600);
    }
  });

  it("a login link is refused once tampered, with a wrong key, or expired", async () => {
    const good = decodeClaims(bearer);
    const now = Math.floor(Date.now() / 1000);
    const wrongKey = await mintToken({ secret: "another-secret-0123456789abcdef0123", aud: "register" });
    const expired = await mintToken({ aud: "register", exp: now - 3600, nbf: now - 90_000, accountId: good.account_id as string });
    const session = await mintToken({ accountId: good.account_id as string });
    for (const [k, error] of [
      [wrongKey, "Invalid credentials"],
      [expired, "Expired token"],
      [session, "Invalid credentials"], // a session token is not a login link
      ["garbage", "Invalid credentials"],
    ] as const) {
      const r = await get(`/api/v1/user_login?k=${encodeURIComponent(k)}`);
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ error });
    }
    expect((await get("/api/v1/user_login")).status).toBe(400);
  });
});

describe("login links: one login each, and none after an expunge", () => {
  const LINK_USER = "erin@example.org";

  it("a link logs in once; the second exchange (also concurrent ones) is refused with 401 JSON", async () => {
    const token = await linkViaOutbox(LINK_USER);
    const k = `/api/v1/user_login?k=${encodeURIComponent(token)}`;
    const first = await get(k);
    expect(first.status).toBe(200);
    expect(await get(k)).toEqual({ status: 401, json: { error: "Login link already used" } });
    // Racing exchanges of a fresh link: exactly one session.
    const raced = await linkViaOutbox(LINK_USER);
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(`/api/v1/user_login?k=${encodeURIComponent(raced)}`)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401]);
    // Another link for the same address still works: it is the link that is spent, not the account.
    expect((await get(`/api/v1/user_login?k=${encodeURIComponent(await linkViaOutbox(LINK_USER))}`)).status).toBe(200);
  });

  it("a link emailed before set_session_expunge no longer logs in; one emailed after it does", async () => {
    const admin = await loginViaOutbox(ADMIN);
    const before = await linkViaOutbox(LINK_USER);
    const r = await fetch(`${origin.url}/api/v1/set_session_expunge`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ email_address: LINK_USER }),
    });
    expect(r.status).toBe(200);
    expect(await get(`/api/v1/user_login?k=${encodeURIComponent(before)}`)).toEqual({ status: 401, json: { error: "Invalid credentials" } });
    // The threshold is the next whole second: a link asked for after it works.
    await new Promise((res) => setTimeout(res, 1100));
    expect((await get(`/api/v1/user_login?k=${encodeURIComponent(await linkViaOutbox(LINK_USER))}`)).status).toBe(200);
  });

  it("a well-signed link without a jti (not one we issue) is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const accountId = decodeClaims(await loginViaOutbox(LINK_USER)).account_id as string;
    const noJti = await mintToken({ aud: "register", accountId, extra: { redirect_to: "https://test-lists.ooni.org/" }, iat: now, nbf: now, exp: now + 600 });
    expect((await get(`/api/v1/user_login?k=${encodeURIComponent(noJti)}`)).status).toBe(401);
    const withJti = await mintToken({ aud: "register", accountId, extra: { redirect_to: "https://test-lists.ooni.org/", jti: "minted-by-the-test-0001" }, iat: now, nbf: now, exp: now + 600 });
    expect((await get(`/api/v1/user_login?k=${encodeURIComponent(withJti)}`)).status).toBe(200);
  });
});

describe("forged session tokens", () => {
  let userBearer: string;
  let adminBearer: string;
  let accountId: string;

  beforeAll(async () => {
    userBearer = await loginViaOutbox(USER);
    adminBearer = await loginViaOutbox(ADMIN);
    accountId = decodeClaims(userBearer).account_id as string;
  });

  const protectedPaths = ["/api/v1/user_refresh_token", "/api/_/quotas_summary"];

  async function expect401(token: string) {
    for (const p of protectedPaths) {
      const r = await get(p, token);
      expect(r.status, p).toBe(401);
      expect(r.json.error, p).toBe("Authentication required");
    }
    // account_metadata answers "logged out" instead (upstream's 200), never the forged session.
    const meta = await get("/api/_/account_metadata", token);
    expect(meta.status).toBe(200);
    expect(meta.json).toEqual({ logged_in: false, role: "" });
  }

  it("the genuine tokens work (so the rejections below are about the forgery)", async () => {
    expect((await get("/api/v1/user_refresh_token", userBearer)).status).toBe(200);
    expect((await get("/api/_/quotas_summary", adminBearer)).status).toBe(200);
  });

  it('alg "none" → 401', async () => {
    const claims = decodeClaims(userBearer);
    await expect401(`${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}.`);
    await expect401(`${b64url(JSON.stringify({ alg: "none" }))}.${b64url(JSON.stringify({ ...claims, role: "admin" }))}.`);
  });

  it("wrong key → 401", async () => {
    await expect401(await mintToken({ secret: "not-the-origin-secret-0123456789abcdef", accountId }));
  });

  it("a different HMAC algorithm with the right key → 401 (HS256 only)", async () => {
    await expect401(await mintToken({ alg: "HS512", accountId }));
  });

  it("wrong audience (login link, probe token, none) → 401", async () => {
    await expect401(await mintToken({ aud: "register", accountId }));
    await expect401(await mintToken({ aud: "probe_token", accountId }));
    await expect401(await mintToken({ accountId, omit: ["aud"] }));
  });

  it("expired → 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect401(await mintToken({ accountId, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }));
  });

  it("not yet valid → 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect401(await mintToken({ accountId, nbf: now + 3600, exp: now + 7200 }));
  });

  it("missing or malformed claims → 401", async () => {
    await expect401(await mintToken({ accountId, omit: ["exp"] }));
    await expect401(await mintToken({ accountId, omit: ["account_id"] }));
    await expect401(await mintToken({ accountId, role: "superuser" }));
    await expect401(await mintToken({ accountId: "carol@example.org" }));
  });

  it("tampered role claim (signature kept) → 401", async () => {
    const [h, , s] = userBearer.split(".");
    const claims = { ...decodeClaims(userBearer), role: "admin" };
    const forged = `${h}.${b64url(JSON.stringify(claims))}.${s}`;
    await expect401(forged);
    const q = await get("/api/_/quotas_summary", forged);
    expect(q.status).toBe(401);
  });

  it("not a bearer, or junk → 401", async () => {
    for (const header of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a.b.c", `Bearer ${"x".repeat(10_000)}`, userBearer]) {
      const res = await fetch(`${origin.url}/api/v1/user_refresh_token`, { headers: { authorization: header } });
      expect(res.status, header.slice(0, 20)).toBe(401);
    }
  });

  it("authentication comes before validation: no token + bad body → 401, user + bad body → 403", async () => {
    const post = (bearer?: string) =>
      fetch(`${origin.url}/api/v1/set_account_role`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ nonsense: true }),
      });
    expect((await post()).status).toBe(401);
    expect((await post(userBearer)).status).toBe(403);
    expect((await post(adminBearer)).status).toBe(400);
  });

  it("a user on an admin route → 403 Role not authorized", async () => {
    const r = await get("/api/_/quotas_summary", userBearer);
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ error: "Role not authorized" });
  });

  it("expunged → 401: a well-signed token issued before the account's threshold", async () => {
    const now = Math.floor(Date.now() / 1000);
    const older = await mintToken({ accountId, iat: now - 60, nbf: now - 60 });
    expect((await get("/api/_/account_metadata", older)).status).toBe(200);
    const r = await fetch(`${origin.url}/api/v1/set_session_expunge`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminBearer}`, "content-type": "application/json" },
      body: JSON.stringify({ email_address: USER }),
    });
    expect(r.status).toBe(200);
    await expect401(older);
    await expect401(userBearer);
    // A later token of the same account is still accepted.
    const later = await mintToken({ accountId, iat: now + 5, nbf: now });
    expect((await get("/api/_/account_metadata", later)).status).toBe(200);
  });

  it("no email address is in any table, log line or file outside the dev outbox", async () => {
    expect(await origin.stop()).toBe(0);
    const report = await scanForEmails({
      dataDir: origin.dataDir,
      logs: origin.logs,
      emails: [USER, ADMIN],
      control: accountId,
      exceptDirs: [outbox],
    });
    expect(report.controlHits).toContain("session_expunge.account_id");
    expect(report.tables).toEqual([]);
    expect(report.logs).toEqual([]);
    expect(report.files).toEqual([]);
    // Positive control for the file scan: the outbox itself does hold the address.
    const eml = readFileSync(path.join(outbox, outboxFiles()[0]!), "utf8");
    expect(eml).toContain(USER);
  });
});
