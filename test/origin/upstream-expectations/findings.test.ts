import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshEmail, startUpstream, type Upstream } from "./support";

// ooni/backend ooniapi/services/oonifindings/tests/test_oonifindings.py (32d8349d), as our tests.
// Upstream's fixtures give one address two roles at once (an admin and a user client for the same
// account); here roles come from ADMIN_EMAILS, so the "user" is the finding's creator logged in as
// a user and the admin is another account.

const ADMIN = "upstream-findings-admin@example.com";
let u: Upstream;
let admin: string;
beforeAll(async () => {
  u = await startUpstream({ ADMIN_EMAILS: ADMIN });
  admin = (await u.login(ADMIN)).bearer;
});
afterAll(async () => {
  await u?.close();
});

const iso6 = (ms: number) => new Date(ms).toISOString().replace("Z", "000Z");
function sample(email: string): Record<string, any> {
  return {
    title: "sample oonifinding",
    short_description: "sample oonifinding description",
    reported_by: "sample user",
    email_address: email,
    text: "this is a sample oonifinding incident",
    published: false,
    event_type: "incident",
    start_time: iso6(Date.now() - 60_000),
    ASNs: [],
    CCs: ["IN", "TZ"],
    tags: [],
    test_names: ["webconnectivity"],
    domains: ["www.google.com"],
    links: [],
  };
}

const PUBLIC_KEYS = [
  "id", "title", "short_description", "start_time", "end_time", "create_time", "update_time", "reported_by",
  "email_address", "text", "mine", "published", "event_type", "ASNs", "CCs", "tags", "test_names", "domains", "links",
  "slug", "themes",
];
const post = (action: string, bearer: string | undefined, body: unknown) => u.req("POST", `/api/v1/incidents/${action}`, { bearer, body });
const show = (id: string, bearer?: string) => u.req("GET", `/api/v1/incidents/show/${id}`, { bearer });
// deviation: upstream answers writes with Cache-Control: no-cache; ours no-store (also never cached)
const uncached = (r: { headers: Headers }) => expect(r.headers.get("cache-control")).toBe("no-store");

async function user(tag: string) {
  const email = freshEmail(tag);
  return { email, bearer: (await u.login(email)).bearer };
}

describe("oonifindings", () => {
  it("test_oonifinding_validation: creating needs an account", async () => {
    // deviation: upstream lets only admins create (a user gets 401); here a user creates an
    // unpublished finding that an admin reviews (docs/write-apis.md). Anonymous is 401 in both.
    expect((await post("create", undefined, sample(""))).status).toBe(401);
    const me = await user("validation");
    expect((await post("create", me.bearer, sample(me.email))).status).toBe(200);
  });

  it("test_oonifinding_creator_validation: empty title/text and end before start refused; valid accepted", async () => {
    const z = sample(ADMIN);
    // deviation: upstream refuses an email_address other than the caller's (400); nothing is stored
    // from it here, so it is ignored
    expect((await post("create", admin, { ...z, email_address: "" })).status).toBe(200);
    expect((await post("create", admin, { ...z, title: "" })).status).toBe(400); // 422 → 400
    expect((await post("create", admin, { ...z, text: "" })).status).toBe(400); // 422 → 400
    const start = Date.parse(z.start_time);
    expect((await post("create", admin, { ...z, end_time: iso6(start - 60_000) })).status).toBe(400); // 422 → 400
    const ok = await post("create", admin, { ...z, end_time: iso6(start + 60_000) });
    expect(ok.status).toBe(200);
    expect(ok.json.r).toBe(1);
    uncached(ok);
  });

  it("test_oonifinding_publish: admins create published or not, publish and unpublish; users cannot", async () => {
    const me = await user("publish");
    expect((await post("create", admin, { ...sample(ADMIN), published: true })).status).toBe(200);
    const r = await post("create", admin, sample(ADMIN));
    expect(r.json.r).toBe(1);
    uncached(r);
    const id = r.json.id as string;
    const payload = (await show(id, admin)).json.incident;
    // deviation: an unknown action is an unknown route here (404); upstream answers 400
    expect((await post("random", admin, payload)).status).toBe(404);
    expect((await post("publish", me.bearer, payload)).status).toBe(403); // upstream 401: authenticated but not allowed
    expect((await post("publish", admin, { id: "12341512" })).status).toBe(404);
    const pub = await post("publish", admin, { id });
    expect(pub.json).toEqual({ r: 1, id });
    uncached(pub);
    expect((await show(id, admin)).json.incident.published).toBe(true);
    const unpub = await post("unpublish", admin, payload);
    expect(unpub.json).toEqual({ r: 1, id });
    expect((await show(id, admin)).json.incident.published).toBe(false);
  });

  it("test_oonifinding_delete: unknown 404; owners and admins delete, others 403; gone afterwards", async () => {
    const me = await user("delete");
    const other = await user("delete-other");
    const z = sample(me.email);
    const a = await post("create", admin, z);
    expect((await post("delete", admin, { ...z, id: "not-exist" })).status).toBe(404);
    const del = await post("delete", admin, { ...z, id: a.json.id });
    expect(del.status).toBe(200);
    uncached(del);
    const id = (await post("create", me.bearer, z)).json.id as string;
    // deviation: upstream 403; an unpublished finding does not exist for others here (404, which
    // does not reveal it). On a published one it is 403, as upstream (test/origin/incidents).
    expect((await post("delete", other.bearer, { ...z, id })).status).toBe(404);
    expect((await post("delete", me.bearer, { ...z, id })).status).toBe(200);
    expect((await show(id, admin)).status).toBe(404);
  });

  it("test_oonifinding_update: unknown 404; empty text/title refused; owner edits; only admins publish", async () => {
    const me = await user("update");
    const other = await user("update-other");
    const id = (await post("create", me.bearer, sample(me.email))).json.id as string;
    let payload = (await show(id, admin)).json.incident;
    expect((await post("update", admin, { ...payload, id: "does-not-exist" })).status).toBe(404);
    const upd = await post("update", admin, { ...payload, text: "sample replacement text for update" });
    expect(upd.json).toEqual({ r: 1, id });
    uncached(upd);
    payload = (await show(id, admin)).json.incident;
    expect(payload.text).toBe("sample replacement text for update");
    expect((await post("update", admin, { ...payload, text: "" })).status).toBe(400); // 422 → 400
    expect((await post("update", admin, { ...payload, title: "" })).status).toBe(400); // 422 → 400
    payload.short_description = "sample replacement discription for update";
    expect((await post("update", other.bearer, payload)).status).toBe(404); // deviation: as in delete above
    expect((await post("update", me.bearer, payload)).json).toEqual({ r: 1, id });
    payload = (await show(id, admin)).json.incident;
    expect(payload.short_description).toBe("sample replacement discription for update");
    payload.tags.push("sample_tag");
    expect((await post("update", me.bearer, payload)).status).toBe(200);
    payload = (await show(id, admin)).json.incident;
    expect(payload.tags).toEqual(["sample_tag"]);
    expect((await post("update", me.bearer, { ...payload, published: true })).status).toBe(403);
    expect((await post("update", admin, { ...payload, published: true })).json).toEqual({ r: 1, id });
    expect((await show(id, admin)).json.incident.published).toBe(true);
  });

  it("test_oonifinding_workflow: who sees what, with which keys and email_address", async () => {
    const someone = await user("workflow");
    const z = sample(ADMIN);
    const first = (await post("create", admin, z)).json.id as string;
    const id = (await post("create", admin, z)).json.id as string;
    expect((await show(id)).status).toBe(404);
    // deviation: upstream shows unpublished findings to every logged-in user; here only to their
    // creator and admins (what the public sees has been reviewed)
    expect((await show(id, someone.bearer)).status).toBe(404);
    // deviation: creator_account_id is answered to admins only (ours: docs/write-apis.md)
    const asAdmin = (await show(id, admin)).json.incident;
    expect(asAdmin).toMatchObject({ mine: true, email_address: ADMIN });
    expect(Object.keys(asAdmin).sort()).toEqual([...PUBLIC_KEYS, "creator_account_id"].sort());

    expect((await post("publish", admin, asAdmin)).json.r).toBe(1);
    for (const bearer of [undefined, someone.bearer]) {
      const i = (await show(id, bearer)).json.incident;
      expect(i).toMatchObject({ mine: false, email_address: "" });
      expect(Object.keys(i).sort()).toEqual([...PUBLIC_KEYS].sort());
    }
    expect((await show(id, admin)).json.incident).toMatchObject({ mine: true, email_address: ADMIN });

    const listed = (bearer?: string) => u.req("GET", "/api/v1/incidents/search?only_mine=false", { bearer });
    const anon = (await listed()).json.incidents as any[];
    const mineOnly = anon.filter((x) => [first, id].includes(x.id));
    expect(mineOnly).toHaveLength(1);
    for (const i of mineOnly) {
      expect(i).toMatchObject({ email_address: "", mine: false });
      expect(Object.keys(i).sort()).toEqual(PUBLIC_KEYS.filter((k) => k !== "text").sort());
    }
    const forAdmin = ((await listed(admin)).json.incidents as any[]).filter((x) => [first, id].includes(x.id));
    expect(forAdmin).toHaveLength(2);
  });
});
