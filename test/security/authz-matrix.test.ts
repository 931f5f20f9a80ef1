import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { report } from "../support/reliability";
import { loginViaOutbox } from "../origin/oonirun/support";
import { startSecurityOrigin, type SecurityOrigin } from "./support/origin";
import { enumerateRoutes, key } from "./support/routes";

// The authorization matrix: every write or admin operation × every kind of caller — anonymous, a
// user who does not own the thing, its owner (where ownership applies), an admin — against a
// table of expected answers. Each cell starts from fresh state, and where a cell is allowed the
// test also checks the write really happened; where it is denied, that nothing changed.

type Role = "anon" | "user" | "owner" | "admin";
type Ctx = Record<string, string>;

interface Row {
  op: string; // "METHOD /openapi/path"
  label?: string;
  setup?: () => Promise<Ctx>;
  request: (ctx: Ctx, n: number) => { path: string; body?: unknown };
  expect: Partial<Record<Role, number>>;
  /** Whether the write took effect (checked as the admin or anonymously, never as the caller). */
  effect?: (ctx: Ctx, n: number) => Promise<boolean>;
}

let o: SecurityOrigin;
let seq = 0;
const uniq = () => `${Date.now().toString(36)}${(seq++).toString(36)}`;
const LINKS = "/api/v2/oonirun/links";

const descriptor = (name: string, over: Record<string, unknown> = {}) => ({
  name,
  description: "Checks whether news websites are blocked.",
  nettests: [{ test_name: "web_connectivity", inputs: ["https://example.com/"] }],
  ...over,
});
const finding = (title: string, over: Record<string, unknown> = {}) => ({ title, text: "what happened", start_time: "2024-01-01T00:00:00Z", ...over });

async function must(method: string, p: string, bearer: string | undefined, body?: unknown) {
  const r = await o.req(method, p, { bearer, body });
  expect(r.status, `${method} ${p}: ${r.text}`).toBe(200);
  return r.json;
}
const ownerLink = async (): Promise<Ctx> => ({ id: (await must("POST", LINKS, o.who.owner, descriptor(`link ${uniq()}`))).oonirun_link_id });
const ownerFinding = async (published: boolean): Promise<Ctx> => {
  const id = (await must("POST", "/api/v1/incidents/create", o.who.owner, finding(`f ${uniq()}`))).id as string;
  if (published) await must("POST", "/api/v1/incidents/publish", o.who.admin, { id });
  return { id };
};
const adminShow = async (id: string) => o.req("GET", `/api/v1/incidents/show/${id}`, { bearer: o.who.admin });
const throwaway = () => `t${uniq()}@sec.example.org`;
const uid = () => `20240101000000.${String(seq++ % 1_000_000).padStart(6, "0")}_IT_webconnectivity_${uniq().padEnd(16, "0").slice(0, 16).replace(/[^0-9a-f]/g, "a")}`;

const ROWS: Row[] = [
  {
    op: `POST ${LINKS}`,
    request: (_c, n) => ({ path: LINKS, body: descriptor(`create ${n}`) }),
    expect: { anon: 401, user: 200, admin: 200 },
    effect: async (_c, n) => JSON.stringify(await must("GET", `${LINKS}?only_latest=true`, undefined)).includes(`create ${n}`),
  },
  {
    op: `PUT ${LINKS}/{oonirun_link_id}`,
    setup: ownerLink,
    request: (c, n) => ({ path: `${LINKS}/${c.id}`, body: descriptor(`edited ${n}`) }),
    expect: { anon: 401, user: 403, owner: 200, admin: 200 },
    effect: async (c, n) => (await must("GET", `${LINKS}/${c.id}`, undefined)).name === `edited ${n}`,
  },
  {
    op: `POST ${LINKS}`,
    label: "author = someone else's address",
    request: (_c, n) => ({ path: LINKS, body: descriptor(`impostor ${n}`, { author: "victim@sec.example.org" }) }),
    expect: { anon: 401, user: 400, owner: 400, admin: 200 },
    effect: async (_c, n) => JSON.stringify(await must("GET", `${LINKS}?only_latest=true`, undefined)).includes(`impostor ${n}`),
  },
  {
    op: `PUT ${LINKS}/{oonirun_link_id}`,
    label: "owner sets author to someone else's address",
    setup: ownerLink,
    request: (c, n) => ({ path: `${LINKS}/${c.id}`, body: descriptor(`impostor edit ${n}`, { author: "victim@sec.example.org" }) }),
    expect: { anon: 401, user: 403, owner: 400, admin: 200 },
    effect: async (c, n) => (await must("GET", `${LINKS}/${c.id}`, undefined)).name === `impostor edit ${n}`,
  },
  {
    op: `PUT ${LINKS}/{oonirun_link_id}`,
    label: "expired link",
    setup: async () => {
      const c = await ownerLink();
      await must("PUT", `${LINKS}/${c.id}`, o.who.owner, descriptor("retired", { expiration_date: "2020-01-01T00:00:00Z" }));
      return c;
    },
    request: (c, n) => ({ path: `${LINKS}/${c.id}`, body: descriptor(`revived ${n}`, { expiration_date: "2099-01-01T00:00:00Z" }) }),
    expect: { anon: 401, user: 403, owner: 403, admin: 200 },
    effect: async (c, n) => (await must("GET", `${LINKS}/${c.id}`, undefined)).name === `revived ${n}`,
  },
  {
    op: "POST /api/v1/incidents/create",
    request: (_c, n) => ({ path: "/api/v1/incidents/create", body: finding(`created ${n}`) }),
    expect: { anon: 401, user: 200, admin: 200 },
    effect: async (_c, n) => JSON.stringify(await must("GET", "/api/v1/incidents/search", o.who.admin)).includes(`created ${n}`),
  },
  {
    op: "POST /api/v1/incidents/create",
    label: "published: true",
    request: (_c, n) => ({ path: "/api/v1/incidents/create", body: finding(`pub ${n}`, { published: true }) }),
    expect: { anon: 401, user: 403, admin: 200 },
    effect: async (_c, n) => JSON.stringify(await must("GET", "/api/v1/incidents/search", undefined)).includes(`pub ${n}`),
  },
  {
    op: "POST /api/v1/incidents/update",
    label: "published finding",
    setup: () => ownerFinding(true),
    request: (c, n) => ({ path: "/api/v1/incidents/update", body: { ...finding(`upd ${n}`), id: c.id } }),
    expect: { anon: 401, user: 403, owner: 200, admin: 200 },
    effect: async (c, n) => (await adminShow(c.id!)).json?.incident?.title === `upd ${n}`,
  },
  {
    op: "POST /api/v1/incidents/update",
    label: "unpublished finding (hidden from others: 404)",
    setup: () => ownerFinding(false),
    request: (c, n) => ({ path: "/api/v1/incidents/update", body: { ...finding(`upd ${n}`), id: c.id } }),
    expect: { anon: 401, user: 404, owner: 200, admin: 200 },
    effect: async (c, n) => (await adminShow(c.id!)).json?.incident?.title === `upd ${n}`,
  },
  {
    op: "POST /api/v1/incidents/delete",
    setup: () => ownerFinding(true),
    request: (c) => ({ path: "/api/v1/incidents/delete", body: { id: c.id } }),
    expect: { anon: 401, user: 403, owner: 200, admin: 200 },
    effect: async (c) => (await adminShow(c.id!)).status === 404,
  },
  {
    op: "POST /api/v1/incidents/publish",
    setup: () => ownerFinding(false),
    request: (c) => ({ path: "/api/v1/incidents/publish", body: { id: c.id } }),
    expect: { anon: 401, user: 403, owner: 403, admin: 200 },
    effect: async (c) => (await o.req("GET", `/api/v1/incidents/show/${c.id}`)).status === 200,
  },
  {
    op: "POST /api/v1/incidents/unpublish",
    setup: () => ownerFinding(true),
    request: (c) => ({ path: "/api/v1/incidents/unpublish", body: { id: c.id } }),
    expect: { anon: 401, user: 403, owner: 403, admin: 200 },
    effect: async (c) => (await o.req("GET", `/api/v1/incidents/show/${c.id}`)).status === 404,
  },
  {
    op: "GET /api/v1/incidents/show/{incident_id}",
    label: "unpublished finding",
    setup: () => ownerFinding(false),
    request: (c) => ({ path: `/api/v1/incidents/show/${c.id}` }),
    expect: { anon: 404, user: 404, owner: 200, admin: 200 },
  },
  {
    op: "POST /api/_/measurement_feedback",
    setup: async () => ({ uid: uid() }),
    request: (c) => ({ path: "/api/_/measurement_feedback", body: { measurement_uid: c.uid, status: "blocked" } }),
    expect: { anon: 401, user: 200, admin: 200 },
    effect: async (c) => ((await must("GET", `/api/_/measurement_feedback/${c.uid}`, undefined)).summary?.blocked ?? 0) > 0,
  },
  {
    op: "GET /api/_/url-priorities/list",
    request: () => ({ path: "/api/_/url-priorities/list" }),
    expect: { anon: 401, user: 403, admin: 200 },
  },
  {
    op: "POST /api/_/url-priorities/update",
    setup: async () => ({ domain: `d${uniq()}.example.org` }),
    request: (c) => ({ path: "/api/_/url-priorities/update", body: { new_entry: { category_code: "NEWS", cc: "IT", domain: c.domain, url: "*", priority: 7 } } }),
    expect: { anon: 401, user: 403, admin: 200 },
    effect: async (c) => JSON.stringify(await must("GET", "/api/_/url-priorities/list", o.who.admin)).includes(c.domain!),
  },
  {
    op: "POST /api/v1/set_account_role",
    setup: async () => ({ email: throwaway() }),
    request: (c) => ({ path: "/api/v1/set_account_role", body: { email_address: c.email, role: "admin" } }),
    expect: { anon: 401, user: 403, admin: 200 },
    effect: async (c) => (await o.req("GET", `/api/v1/get_account_role/${encodeURIComponent(c.email!)}`, { bearer: o.who.admin })).json?.role === "admin",
  },
  {
    op: "GET /api/v1/get_account_role/{email_address}",
    request: () => ({ path: `/api/v1/get_account_role/${encodeURIComponent("admin@sec.example.org")}` }),
    expect: { anon: 401, user: 403, admin: 200 },
  },
  {
    op: "POST /api/v1/set_session_expunge",
    setup: async () => {
      const email = throwaway();
      return { email, bearer: await loginViaOutbox(o.f, path.join(o.dataDir, "outbox"), email) };
    },
    request: (c) => ({ path: "/api/v1/set_session_expunge", body: { email_address: c.email } }),
    expect: { anon: 401, user: 403, admin: 200 },
    effect: async (c) => (await o.req("GET", "/api/v1/user_refresh_token", { bearer: c.bearer })).status === 401,
  },
  { op: "GET /api/_/quotas_summary", request: () => ({ path: "/api/_/quotas_summary" }), expect: { anon: 401, user: 403, admin: 200 } },
  { op: "GET /api/v1/user_refresh_token", request: () => ({ path: "/api/v1/user_refresh_token" }), expect: { anon: 401, user: 200, admin: 200 } },
  // Logged out is an answer here ({"logged_in": false, "role": ""}, as upstream), not a 401.
  { op: "GET /api/_/account_metadata", request: () => ({ path: "/api/_/account_metadata" }), expect: { anon: 200, user: 200, admin: 200 } },
  // Public writes: anyone, logged in or not (a probe asks for its descriptor; anyone may ask for a link).
  {
    op: `POST ${LINKS}/{oonirun_link_id}/engine-descriptor/{revision_number}`,
    setup: ownerLink,
    request: (c) => ({ path: `${LINKS}/${c.id}/engine-descriptor/latest`, body: {} }),
    expect: { anon: 200, user: 200, owner: 200, admin: 200 },
  },
  {
    op: "POST /api/v1/user_register",
    request: () => ({ path: "/api/v1/user_register", body: { email_address: throwaway(), redirect_to: "https://explorer.ooni.org/" } }),
    expect: { anon: 200, user: 200, admin: 200 },
  },
  // ooniauth v2 (the OONI Run app): asking for a link is public; a session is refreshed only with
  // one; "who am I" answers logged out rather than 401, as upstream.
  {
    op: "POST /api/v2/ooniauth/user-login",
    request: () => ({ path: "/api/v2/ooniauth/user-login", body: { email_address: throwaway(), redirect_to: "https://run.ooni.org/en" } }),
    expect: { anon: 200, user: 200, admin: 200 },
  },
  { op: "POST /api/v2/ooniauth/user-session", request: () => ({ path: "/api/v2/ooniauth/user-session" }), expect: { anon: 401, user: 200, admin: 200 } },
  { op: "GET /api/v2/ooniauth/user-session", request: () => ({ path: "/api/v2/ooniauth/user-session" }), expect: { anon: 200, user: 200, admin: 200 } },
];

// Probe services: public by design (probes are anonymous), covered by the probe contract tests.
// Anonymous credentials too: any probe may register, and the proof is the authorization
// (test/origin/anoncred/).
const PROBE_WRITES = new Set([
  "POST /api/v1/check-in", "POST /api/v1/geolookup", "POST /api/v1/register", "POST /api/v1/login", "POST /api/v1/submit_measurement",
  "POST /report", "POST /report/{report_id}", "POST /report/{report_id}/close", "POST /bouncer/net-tests",
  "POST /api/v1/sign_credential", "POST /api/v1/update_credential",
]);

beforeAll(async () => {
  o = await startSecurityOrigin();
});
afterAll(async () => {
  await o?.close();
});

describe("authorization matrix", () => {
  it("covers every bearer-protected and every non-probe write operation of the route table", () => {
    const covered = new Set(ROWS.map((r) => r.op));
    const needed = enumerateRoutes(o.app)
      .filter((op) => op.auth === "bearer" || (["POST", "PUT", "PATCH", "DELETE"].includes(op.method) && !PROBE_WRITES.has(key(op))))
      .map(key);
    expect(needed.filter((k) => !covered.has(k))).toEqual([]);
  });

  it("every cell answers as the table says; allowed writes take effect, denied ones do not", async () => {
    const bearerOf: Record<Role, () => string | undefined> = { anon: () => undefined, user: () => o.who.other, owner: () => o.who.owner, admin: () => o.who.admin };
    const failures: string[] = [];
    let cases = 0;
    for (const row of ROWS) {
      const [method] = row.op.split(" ") as [string];
      for (const [role, status] of Object.entries(row.expect) as [Role, number][]) {
        cases++;
        const n = seq++;
        const ctx = row.setup ? await row.setup() : {};
        const { path: p, body } = row.request(ctx, n);
        const r = await o.req(method, p, { bearer: bearerOf[role](), body });
        const where = `${row.op}${row.label ? ` (${row.label})` : ""} as ${role}`;
        if (r.status !== status) failures.push(`${where}: expected ${status}, got ${r.status} ${r.text.slice(0, 150)}`);
        if (r.status >= 400 && typeof r.json?.error !== "string") failures.push(`${where}: refusal is not JSON {error}: ${r.text.slice(0, 100)}`);
        if (row.effect) {
          const happened = await row.effect(ctx, n);
          if (happened !== (status === 200)) failures.push(`${where}: write ${happened ? "took effect" : "did not take effect"} (answer ${r.status})`);
        }
      }
    }
    report("security", "authorization matrix", { operations: new Set(ROWS.map((r) => r.op)).size, rows: ROWS.length, cases, passed: cases - failures.length });
    expect(failures).toEqual([]);
  });

  it("a role change takes effect at once: promoted and demoted accounts lose their old tokens", async () => {
    const email = throwaway();
    const outbox = path.join(o.dataDir, "outbox");
    const asUser = await loginViaOutbox(o.f, outbox, email);
    expect((await o.req("GET", "/api/_/quotas_summary", { bearer: asUser })).status).toBe(403);
    await must("POST", "/api/v1/set_account_role", o.who.admin, { email_address: email, role: "admin" });
    expect((await o.req("GET", "/api/v1/user_refresh_token", { bearer: asUser })).status).toBe(401);
    expect((await o.req("GET", "/api/_/account_metadata", { bearer: asUser })).json).toEqual({ logged_in: false, role: "" });
    const asAdmin = await loginViaOutbox(o.f, outbox, email);
    expect((await o.req("GET", "/api/_/quotas_summary", { bearer: asAdmin })).status).toBe(200);
    await must("POST", "/api/v1/set_account_role", o.who.admin, { email_address: email, role: "user" });
    // The demoted admin's token, still well signed and unexpired, no longer works anywhere.
    expect((await o.req("GET", "/api/_/quotas_summary", { bearer: asAdmin })).status).toBe(401);
    expect((await o.req("GET", "/api/v1/user_refresh_token", { bearer: asAdmin })).status).toBe(401);
    const again = await loginViaOutbox(o.f, outbox, email);
    expect((await o.req("GET", "/api/_/quotas_summary", { bearer: again })).status).toBe(403);
    report("security", "authorization role changes", { cases: 7, passed: 7 });
  });

  it("an expunge in the same second as the previous one still rejects tokens issued in between", async () => {
    // Deterministic form of the role-change race above: fixed clock, real store and token service.
    const { store, tokens } = o.services.auth;
    const accountId = "ab".repeat(16);
    const t = Date.now();
    const first = await store.expunge(accountId, t);
    // What login does right after an expunge: iat = max(now, threshold), a second ahead.
    const token = await tokens.sessionToken({ accountId, role: "admin", issuedAt: first });
    const session = (await tokens.verifySession(token))!;
    expect(session.issuedAt).toBeGreaterThanOrEqual(first);
    const second = await store.expunge(accountId, t);
    expect(session.issuedAt).toBeLessThan(second);
    expect((await o.req("GET", "/api/v1/user_refresh_token", { bearer: token })).status).toBe(401);
    expect((await o.req("GET", "/api/_/account_metadata", { bearer: token })).json).toEqual({ logged_in: false, role: "" });
    report("security", "authorization expunge ordering", { cases: 1, passed: 1 });
  });

  it("who created a finding is shown to admins only; nobody sees another person's address", async () => {
    const { id } = await ownerFinding(true);
    const views: [string, string | undefined, boolean][] = [["anon", undefined, false], ["user", o.who.other, false], ["owner", o.who.owner, false], ["admin", o.who.admin, true]];
    for (const [who, bearer, sees] of views) {
      for (const p of ["/api/v1/incidents/search", `/api/v1/incidents/show/${id}`]) {
        const r = await o.req("GET", p, { bearer });
        expect(r.status).toBe(200);
        const items = r.json.incidents ?? [r.json.incident];
        const mine = items.find((x: { id: string }) => x.id === id);
        expect(mine, `${who} ${p}`).toBeDefined();
        expect("creator_account_id" in mine, `${who} ${p}`).toBe(sees);
        // Explorer's edit form gets the caller's own address (from their own session) where they may
        // edit; nobody ever gets someone else's.
        const own = bearer ? (JSON.parse(Buffer.from(bearer.split(".")[1]!, "base64url").toString()).email_address as string) : null;
        expect(own === null || own.endsWith("@sec.example.org"), "the session carries the address").toBe(true);
        expect(own ? r.text.replaceAll(own, "") : r.text, `${who} ${p}`).not.toMatch(/@sec\.example\.org/);
      }
    }
    report("security", "authorization finding creator exposure", { cases: views.length * 2, passed: views.length * 2 });
  });
});
