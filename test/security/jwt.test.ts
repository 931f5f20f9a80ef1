import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { report } from "../support/reliability";
import { decode, hs, nowS, RSA_PUBLIC_JWK, RSA_PUBLIC_PEM, rs256, sessionClaims, unsigned, withPayload } from "./support/jwt";
import { JWT_SECRET, LEAK_RE, startSecurityOrigin, type SecurityOrigin } from "./support/origin";
import { enumerateRoutes, fillPath, key, type Operation } from "./support/routes";

// Forged, mis-typed and malformed tokens against every authenticated operation of the origin
// (enumerated from its OpenAPI document). Each must be refused with a 401/403 JSON answer: never
// a 200, never a 5xx. Account sessions, emailed login links and probe credentials are all HS256
// with one key, so tokens of one kind are also tried where another kind is expected.

let o: SecurityOrigin;
let ops: Operation[];
let probe: { clientId: string; token: string };
let registerToken: string;

const PATH_VALUES = { email_address: "someone%40sec.example.org", oonirun_link_id: "100000000000001" };

beforeAll(async () => {
  o = await startSecurityOrigin();
  ops = enumerateRoutes(o.app);
  const reg = await o.req("POST", "/api/v1/register", { body: { password: "p", probe_cc: "IT", probe_asn: "AS30722", platform: "linux", software_name: "t", software_version: "1", supported_tests: ["web_connectivity"] } });
  expect(reg.status, reg.text).toBe(200);
  const login = await o.req("POST", "/api/v1/login", { body: { username: reg.json.client_id, password: "p" } });
  expect(login.status, login.text).toBe(200);
  probe = { clientId: reg.json.client_id, token: login.json.token };
  registerToken = await o.services.auth.tokens.registerToken(decode(o.who.admin).payload.account_id as string, "https://explorer.ooni.org/");
});

afterAll(async () => {
  await o?.close();
});

interface Forgery {
  name: string;
  /** Request headers carrying (or failing to carry) the token. */
  headers(): Record<string, string>;
}

const bearer = (name: string, token: () => string): Forgery => ({ name, headers: () => ({ authorization: `Bearer ${token()}` }) });

function accountForgeries(): Forgery[] {
  const admin = () => o.who.admin;
  const adminId = () => decode(admin()).payload.account_id as string;
  const userId = () => decode(o.who.other).payload.account_id as string;
  const claims = (over: Record<string, unknown> = {}) => sessionClaims(adminId(), "admin", over);
  const now = nowS();
  const strip = (k: string) => () => {
    const c: Record<string, unknown> = claims();
    delete c[k];
    return hs("HS256", JWT_SECRET, {}, c);
  };
  return [
    bearer("alg none", () => unsigned({ alg: "none", typ: "JWT" }, claims())),
    bearer("alg None", () => unsigned({ alg: "None", typ: "JWT" }, claims())),
    bearer("alg none with the real signature", () => unsigned({ alg: "none", typ: "JWT" }, decode(admin()).payload, decode(admin()).sig)),
    bearer("HS256 wrong key", () => hs("HS256", "not-the-secret-0123456789abcdef0123456789", {}, claims())),
    bearer("HS256 empty key", () => hs("HS256", "", {}, claims())),
    bearer("HS256 key = RSA public key PEM (RS/HS confusion)", () => hs("HS256", RSA_PUBLIC_PEM, {}, claims())),
    bearer("RS256 with an attacker key", () => rs256({}, claims())),
    bearer("RS256 with an embedded attacker jwk", () => rs256({ jwk: RSA_PUBLIC_JWK }, claims())),
    bearer("HS256 with jku/kid pointing elsewhere", () => hs("HS256", "attacker", { kid: "../../dev/null", jku: "https://evil.example/jwks" }, claims())),
    bearer("HS512 with the real key (algorithm not allowed)", () => hs("HS512", JWT_SECRET, {}, claims())),
    bearer("lower-case alg hs256 with the real key", () => unsigned({ alg: "hs256", typ: "JWT" }, claims(), hs("HS256", JWT_SECRET, {}, claims()).split(".")[2])),
    bearer("expired (beyond the clock tolerance)", () => hs("HS256", JWT_SECRET, {}, claims({ iat: now - 7200, nbf: now - 7200, exp: now - 120 }))),
    bearer("not yet valid (nbf beyond the tolerance)", () => hs("HS256", JWT_SECRET, {}, claims({ nbf: now + 600 }))),
    bearer("no exp", strip("exp")),
    bearer("no nbf", strip("nbf")),
    bearer("no iat", strip("iat")),
    bearer("no aud", strip("aud")),
    bearer("aud register (login-link audience)", () => hs("HS256", JWT_SECRET, {}, claims({ aud: "register" }))),
    bearer("aud probe_token", () => hs("HS256", JWT_SECRET, {}, claims({ aud: "probe_token" }))),
    bearer("wrong issuer and key", () => hs("HS256", "issuer-key-0123456789abcdef0123456789", {}, claims({ iss: "https://evil.example" }))),
    bearer("role escalation user→admin, original signature", () => withPayload(o.who.other, { ...decode(o.who.other).payload, role: "admin" })),
    bearer("account swap, original signature", () => withPayload(o.who.other, { ...decode(o.who.other).payload, account_id: adminId() })),
    bearer("exp extended, original signature", () => withPayload(o.who.other, { ...decode(o.who.other).payload, exp: now + 10 ** 8 })),
    bearer("role outside the enum, real key", () => hs("HS256", JWT_SECRET, {}, sessionClaims(userId(), "user", { role: "superadmin" }))),
    bearer("account_id not hex, real key", () => hs("HS256", JWT_SECRET, {}, claims({ account_id: "' OR 1=1 --" }))),
    bearer("probe client_id as a session", () => probe.clientId),
    bearer("probe token as a session", () => probe.token),
    bearer("emailed login-link token as a session", () => registerToken),
    bearer("signature truncated", () => admin().slice(0, -3)),
    bearer("signature removed", () => admin().split(".").slice(0, 2).join(".") + "."),
    bearer("two segments", () => admin().split(".").slice(0, 2).join(".")),
    bearer("four segments", () => `${admin()}.x`),
    bearer("garbage", () => "not-a-token"),
    bearer("dots only", () => "..."),
    bearer("non-ASCII", () => "ééé.ééé.ééé"),
    bearer("huge (64 KiB)", () => "a".repeat(65_536)),
    bearer("JSON instead of a JWT", () => '{"role":"admin"}'),
    { name: "Bearer without a token", headers: () => ({ authorization: "Bearer" }) },
    { name: "Bearer Bearer <token>", headers: () => ({ authorization: `Bearer Bearer ${admin()}` }) },
    { name: "Basic scheme with the token", headers: () => ({ authorization: `Basic ${Buffer.from(`x:${admin()}`).toString("base64")}` }) },
    { name: "token in a cookie", headers: () => ({ cookie: `token=${admin()}; bearer=${admin()}; Authorization=Bearer ${admin()}` }) },
    { name: "token in X-Authorization", headers: () => ({ "x-authorization": `Bearer ${admin()}` }) },
    { name: "no credentials", headers: () => ({}) },
  ];
}

function isRefusal(r: { status: number; headers: Headers; json: any }): boolean {
  return (r.status === 401 || r.status === 403) && (r.headers.get("content-type") ?? "").includes("json") && typeof r.json?.error === "string";
}

describe("forged account tokens", () => {
  it("every bearer-protected operation refuses every forgery with 401/403 JSON; a real admin token passes", async () => {
    const targets = ops.filter((op) => op.auth === "bearer");
    // The routes this was written against: if the count drops, enumeration broke.
    expect(targets.length).toBeGreaterThanOrEqual(14);
    const forgeries = accountForgeries();
    const failures: string[] = [];
    let cases = 0;
    for (const op of targets) {
      const p = fillPath(op, PATH_VALUES);
      const body = op.hasBody ? {} : undefined;
      for (const fg of forgeries) {
        cases++;
        const r = await o.req(op.method, p, { headers: fg.headers(), body });
        if (!isRefusal(r) || LEAK_RE.test(r.text)) failures.push(`${key(op)} [${fg.name}] → ${r.status} ${r.text.slice(0, 120)}`);
      }
      // The control: the same request with the genuine admin token is not refused as unauthenticated.
      const ok = await o.req(op.method, p, { bearer: o.who.admin, body });
      if (ok.status === 401 || ok.status === 403 || ok.status >= 500) failures.push(`${key(op)} [genuine admin] → ${ok.status} ${ok.text.slice(0, 120)}`);
    }
    report("security", "jwt forgeries (account routes)", { operations: targets.length, forgeries: forgeries.length, cases, passed: cases - failures.length });
    expect(failures).toEqual([]);
  });

  it("public routes that read the bearer treat a forged admin token as anonymous", async () => {
    const forged = hs("HS256", "wrong-key-0123456789abcdef0123456789", {}, sessionClaims(decode(o.who.admin).payload.account_id as string, "admin"));
    const created = await o.req("POST", "/api/v1/incidents/create", { bearer: o.who.owner, body: { title: "secret draft", text: "t", start_time: "2024-01-01T00:00:00Z" } });
    expect(created.status, created.text).toBe(200);
    for (const auth of [forged, withPayload(o.who.other, { ...decode(o.who.other).payload, role: "admin" })]) {
      const s = await o.req("GET", "/api/v1/incidents/search?published=false", { bearer: auth });
      expect(s.status).toBe(200);
      expect(JSON.stringify(s.json)).not.toContain("secret draft");
      const show = await o.req("GET", `/api/v1/incidents/show/${created.json.id}`, { bearer: auth });
      expect(show.status).toBe(404);
    }
    expect((await o.req("GET", `/api/v1/incidents/show/${created.json.id}`, { bearer: o.who.admin })).status).toBe(200);
  });
});

describe("tokens of one kind where another is expected (one shared key)", () => {
  it("probe-token routes refuse session, login-link, client_id and forged probe tokens; accept a probe token", async () => {
    const targets = ops.filter((op) => op.auth === "probe");
    expect(targets.length).toBeGreaterThanOrEqual(2);
    const now = nowS();
    const probeClaims = { registration_time: null, aud: "probe_token", iat: now, exp: now + 3600 };
    const tokens: [string, string][] = [
      ["admin session", o.who.admin],
      ["login-link token", registerToken],
      ["probe client_id", probe.clientId],
      ["probe token alg none", unsigned({ alg: "none", typ: "JWT" }, probeClaims)],
      ["probe token wrong key", hs("HS256", "wrong-key-0123456789abcdef0123456789", {}, probeClaims)],
      ["probe token expired", hs("HS256", JWT_SECRET, {}, { ...probeClaims, iat: now - 9000, exp: now - 60 })],
      ["probe token without exp", hs("HS256", JWT_SECRET, {}, { aud: "probe_token", iat: now })],
      ["probe token RS256", rs256({}, probeClaims)],
    ];
    const failures: string[] = [];
    let cases = 0;
    for (const op of targets) {
      for (const [name, t] of tokens) {
        cases++;
        const r = await o.req(op.method, fillPath(op, {}), { bearer: t });
        if (!isRefusal(r)) failures.push(`${key(op)} [${name}] → ${r.status} ${r.text.slice(0, 100)}`);
      }
      const ok = await o.req(op.method, fillPath(op, {}), { bearer: probe.token });
      expect(ok.status, `${key(op)} with a probe token: ${ok.text.slice(0, 200)}`).toBe(200);
    }
    report("security", "jwt cross-kind (probe routes)", { operations: targets.length, cases, passed: cases - failures.length });
    expect(failures).toEqual([]);
  });

  it("user_login refuses anything but a login-link token; probe login refuses account tokens", async () => {
    const now = nowS();
    const adminId = decode(o.who.admin).payload.account_id as string;
    const forgedLink = { account_id: adminId, redirect_to: "https://explorer.ooni.org/", aud: "register", iat: now, nbf: now, exp: now + 600 };
    const asLink: [string, string][] = [
      ["session", o.who.admin],
      ["probe token", probe.token],
      ["probe client_id", probe.clientId],
      ["link alg none", unsigned({ alg: "none" }, forgedLink)],
      ["link wrong key", hs("HS256", "wrong-key-0123456789abcdef0123456789", {}, forgedLink)],
      ["link expired", hs("HS256", JWT_SECRET, {}, { ...forgedLink, nbf: now - 90_000, iat: now - 90_000, exp: now - 120 })],
    ];
    let cases = 0;
    for (const [name, k] of asLink) {
      cases++;
      const r = await o.req("GET", `/api/v1/user_login?k=${encodeURIComponent(k)}`);
      expect(isRefusal(r), `user_login [${name}] → ${r.status} ${r.text}`).toBe(true);
    }
    for (const [name, username] of [["session", o.who.admin], ["login-link token", registerToken], ["probe token", probe.token], ["alg none client_id", unsigned({ alg: "none" }, { aud: "probe_login", iat: now })]] as const) {
      cases++;
      const r = await o.req("POST", "/api/v1/login", { body: { username, password: "p" } });
      expect(r.status, `probe login [${name}] → ${r.status} ${r.text}`).toBe(401);
    }
    // The genuine link still works (the refusals above are not the route being broken).
    expect((await o.req("GET", `/api/v1/user_login?k=${encodeURIComponent(registerToken)}`)).status).toBe(200);
    report("security", "jwt cross-kind (login exchanges)", { cases, passed: cases });
  });
});
