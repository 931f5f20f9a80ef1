import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { accountIdOf, ADMIN, call, loginAll, type Bearers, type CallOptions, type Fetcher } from "../oonirun/support";

// Findings (incidents) through the real app and services in this process (embedded chDB on a temp
// directory), logged in through the outbox like a person. Every write is followed by reads, which
// is the read-your-writes check; the last block also shows the raw rows are not merged yet.

let origin: InProcessOrigin;
let f: Fetcher;
let who: Bearers;

beforeAll(async () => {
  origin = await startInProcessOrigin({ ADMIN_EMAILS: ADMIN });
  f = async (p, init) => origin.app.request(p, init);
  who = await loginAll(f, origin.services.config.mail.outboxDir);
});
afterAll(async () => {
  await origin?.close();
});

const req = (method: string, p: string, o?: CallOptions) => call(f, method, p, o);

function finding(over: Record<string, unknown> = {}) {
  return {
    title: "Social media blocked in Italy",
    short_description: "Several platforms unreachable",
    text: "Between the dates below, OONI measurements show...",
    start_time: "2024-01-10T00:00:00Z",
    end_time: null,
    reported_by: "OONI",
    event_type: "incident",
    CCs: ["IT"],
    ASNs: [30722],
    domains: ["www.facebook.com"],
    tags: ["social media"],
    links: ["https://explorer.ooni.org/"],
    test_names: ["web_connectivity"],
    ...over,
  };
}

async function create(bearer: string, over: Record<string, unknown> = {}): Promise<string> {
  const r = await req("POST", "/api/v1/incidents/create", { bearer, body: finding(over) });
  expect(r.status, r.text).toBe(200);
  expect(r.json).toEqual({ r: 1, id: expect.stringMatching(/^10[0-9]{13}$/) });
  return r.json.id as string;
}

const show = (id: string, bearer?: string) => req("GET", `/api/v1/incidents/show/${id}`, { bearer });
const searchIds = async (q: string, bearer?: string) => {
  const r = await req("GET", `/api/v1/incidents/search${q}`, { bearer });
  expect(r.status, r.text).toBe(200);
  expect(r.json.v).toBe(1);
  return (r.json.incidents as { id: string }[]).map((i) => i.id);
};
const post = (action: string, bearer: string | undefined, body: unknown) => req("POST", `/api/v1/incidents/${action}`, { bearer, body });

describe("create", () => {
  it("anonymous 401; users create unpublished findings; only admins may publish", async () => {
    expect((await post("create", undefined, finding())).status).toBe(401);
    const id = await create(who.owner);
    const s = await show(id, who.owner);
    expect(s.status).toBe(200);
    expect(s.json.incident).toMatchObject({
      id,
      title: "Social media blocked in Italy",
      text: "Between the dates below, OONI measurements show...",
      published: false,
      mine: true,
      start_time: "2024-01-10T00:00:00.000000Z",
      end_time: null,
      CCs: ["IT"],
      ASNs: [30722],
    });
    expect(s.json.incident.creator_account_id).toBeUndefined(); // only admins see who created it

    const pub = await post("create", who.owner, finding({ published: true }));
    expect(pub.status).toBe(403);
    expect(pub.json).toEqual({ error: "Only admins can publish incidents" });

    const adminId = await create(who.admin, { published: true, CCs: ["us"] });
    const a = await show(adminId);
    expect(a.status).toBe(200);
    expect(a.json.incident).toMatchObject({ published: true, mine: false, CCs: ["US"] });
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ["no title", { title: undefined }, "title"],
    ["an empty text", { text: "  " }, "text"],
    ["a bad start_time", { start_time: "yesterday" }, "start_time"],
    ["end_time before start_time", { end_time: "2024-01-01T00:00:00Z" }, "end_time"],
    ["a start_time the table cannot store", { start_time: "2200-01-01T00:00:00Z" }, "start_time"],
    ["a start_time before 1970", { start_time: "1960-01-01T00:00:00Z" }, "start_time"],
    ["a three-letter country", { CCs: ["ITA"] }, "CCs.0"],
    ["a negative ASN", { ASNs: [-1] }, "ASNs.0"],
    ["an ASN given as text", { ASNs: ["AS30722"] }, "ASNs.0"],
    ["a bad domain", { domains: ["not a domain!"] }, "domains.0"],
    ["a javascript: link", { links: ["javascript:alert(1)"] }, "links.0"],
    ["a bad test name", { test_names: ["Web Connectivity"] }, "test_names.0"],
    ["published not a boolean", { published: "yes" }, "published"],
  ];
  for (const [what, over, parameter] of bad) {
    it(`400 naming the parameter: ${what}`, async () => {
      const r = await post("create", who.owner, finding(over));
      expect(r.status, r.text).toBe(400);
      expect(r.json).toMatchObject({ parameter, error: expect.any(String) });
    });
  }

  it("400 for a body that is not JSON", async () => {
    const r = await req("POST", "/api/v1/incidents/create", { bearer: who.owner, body: "{oops" });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual(expect.any(String));
  });
});

describe("visibility, publishing and the authorization matrix", () => {
  let id: string;
  beforeAll(async () => {
    id = await create(who.owner, { title: "Unpublished draft" });
  });

  it("an unpublished finding exists only for its creator and admins", async () => {
    expect((await show(id)).status).toBe(404);
    expect((await show(id)).json).toEqual({ error: "Incident not found" });
    expect((await show(id, who.other)).status).toBe(404);
    expect((await show(id, who.owner)).json.incident.mine).toBe(true);
    const admin = await show(id, who.admin);
    expect(admin.json.incident).toMatchObject({ mine: false, creator_account_id: accountIdOf(who.owner) });
    expect(await searchIds("")).not.toContain(id);
    expect(await searchIds("", who.other)).not.toContain(id);
    expect(await searchIds("", who.owner)).toContain(id);
    expect(await searchIds("", who.admin)).toContain(id);
  });

  it("publish/unpublish: anonymous 401, users 403 (owner included), admin 200 and visible at once", async () => {
    for (const action of ["publish", "unpublish"]) {
      expect((await post(action, undefined, { id })).status).toBe(401);
      for (const bearer of [who.owner, who.other]) {
        const r = await post(action, bearer, { id });
        expect(r.status).toBe(403);
        expect(r.json).toEqual({ error: "Role not authorized" });
      }
    }
    const p = await post("publish", who.admin, { id });
    expect(p.json).toEqual({ r: 1, id });
    expect((await show(id)).json.incident.published).toBe(true);
    expect(await searchIds("")).toContain(id);
    expect((await post("unpublish", who.admin, { id })).status).toBe(200);
    expect((await show(id)).status).toBe(404);
    expect((await post("publish", who.admin, { id: "999999" })).status).toBe(404);
    expect((await post("publish", who.admin, { id: "bad id!" })).status).toBe(400);
  });

  it("update: anonymous 401; another user 404 (unpublished) or 403 (published); owner and admin 200", async () => {
    const body = { ...finding({ title: "Edited title" }), id };
    expect((await post("update", undefined, body)).status).toBe(401);
    expect((await post("update", who.other, body)).status).toBe(404);
    await post("publish", who.admin, { id });
    const other = await post("update", who.other, body);
    expect(other.status).toBe(403);
    expect(other.json).toEqual({ error: "You are not the creator of this incident" });
    expect((await show(id)).json.incident.title).toBe("Unpublished draft");

    // The owner's edit lands, and takes the finding out of public view until an admin re-publishes.
    expect((await post("update", who.owner, body)).json).toEqual({ r: 1, id });
    const mine = await show(id, who.owner);
    expect(mine.json.incident).toMatchObject({ title: "Edited title", published: false });
    expect((await show(id)).status).toBe(404);
    expect((await post("update", who.owner, { ...body, published: true })).status).toBe(403);

    // An admin's edit without `published` keeps the state; with it, sets it.
    await post("publish", who.admin, { id });
    expect((await post("update", who.admin, { ...body, title: "Admin title" })).status).toBe(200);
    expect((await show(id)).json.incident).toMatchObject({ title: "Admin title", published: true });
    expect((await post("update", who.admin, { ...body, published: false })).status).toBe(200);
    expect((await show(id)).status).toBe(404);

    expect((await post("update", who.owner, { ...body, id: "424242" })).status).toBe(404);
    const noId = await post("update", who.owner, finding());
    expect(noId.status).toBe(400);
    expect(noId.json.parameter).toBe("id");
  });

  it("delete: anonymous 401, another user 403/404, the owner or an admin 200; gone for everyone", async () => {
    const published = await create(who.admin, { published: true, title: "Admin's finding" });
    const own = await create(who.owner, { title: "To delete" });
    expect((await post("delete", undefined, { id: own })).status).toBe(401);
    expect((await post("delete", who.other, { id: own })).status).toBe(404);
    expect((await post("delete", who.other, { id: published })).status).toBe(403);
    expect((await post("delete", who.owner, { id: own })).json).toEqual({});
    for (const bearer of [undefined, who.owner, who.admin]) expect((await show(own, bearer)).status).toBe(404);
    expect(await searchIds("", who.admin)).not.toContain(own);
    expect((await post("delete", who.owner, { id: own })).status).toBe(404);
    // An admin deletes anyone's.
    expect((await post("delete", who.admin, { id: published })).status).toBe(200);
    expect((await show(published)).status).toBe(404);
  });

  it("show: a malformed id is a 400", async () => {
    expect((await show("not%20an%20id")).status).toBe(400);
  });
});

describe("search", () => {
  let it1: string, us: string, draft: string;
  beforeAll(async () => {
    it1 = await create(who.admin, { published: true, title: "B Italy", start_time: "2024-03-01T00:00:00Z" });
    await new Promise((r) => setTimeout(r, 1100)); // create_time has second precision
    us = await create(who.admin, {
      published: true,
      title: "A USA",
      CCs: ["US"],
      ASNs: [7922],
      domains: ["www.example.com"],
      start_time: "2023-06-01T00:00:00Z",
    });
    draft = await create(who.other, { title: "C draft", CCs: ["US"] });
  });

  it("filters by cc, asn, domain, creator, published and only_mine", async () => {
    // Other blocks created findings too: look only at this block's three.
    const ours = async (q: string, bearer?: string) => (await searchIds(q, bearer)).filter((x) => [it1, us, draft].includes(x)).sort();
    const admin = accountIdOf(who.admin);
    expect(await ours("")).toEqual([it1, us].sort());
    expect(await ours("?cc=US")).toEqual([us]);
    expect(await ours("?cc=us", who.other)).toEqual([us, draft].sort());
    expect(await ours("?asn=7922")).toEqual([us]);
    expect(await ours("?asn=AS30722")).toEqual([it1]);
    expect(await ours("?domain=www.example.com")).toEqual([us]);
    expect(await ours("?domain=www.facebook.com")).toEqual([it1]);
    expect(await ours(`?creator=${admin}`)).toEqual([it1, us].sort());
    expect(await ours(`?creator=${accountIdOf(who.other)}`)).toEqual([]); // not published
    expect(await ours(`?creator=${accountIdOf(who.other)}`, who.other)).toEqual([draft]);
    expect(await ours("?published=false", who.other)).toEqual([draft]);
    expect(await ours("?published=false", who.admin)).toEqual([draft]);
    expect(await ours("?published=false")).toEqual([]);
    expect(await ours("?published=true", who.other)).toEqual([it1, us].sort());
    expect(await ours("?only_mine=true")).toEqual([]);
    expect(await ours("?only_mine=true", who.other)).toEqual([draft]);
    expect(await ours("?cc=US&asn=7922&domain=www.example.com", who.admin)).toEqual([us]);
  });

  it("sorts by creation (newest first by default), event start, or title", async () => {
    const ids = (await searchIds("", who.admin)).filter((x) => [it1, us].includes(x));
    expect(ids).toEqual([us, it1]);
    expect((await searchIds("?sort_by=create_time&order=asc", who.admin)).filter((x) => [it1, us].includes(x))).toEqual([it1, us]);
    expect((await searchIds("?sort_by=start_time&order=desc")).filter((x) => [it1, us].includes(x))).toEqual([it1, us]);
    expect((await searchIds("?sort_by=title&order=asc")).filter((x) => [it1, us].includes(x))).toEqual([us, it1]);
  });

  it("answers without the text; bad parameters are 400 naming them", async () => {
    const r = await req("GET", "/api/v1/incidents/search?cc=US");
    expect(r.json.incidents[0].text).toBeUndefined();
    expect(r.headers.get("cache-control")).toBe("no-store");
    for (const [q, parameter] of [
      ["cc=USA", "cc"],
      ["asn=x", "asn"],
      ["asn=99999999999", "asn"],
      ["domain=a%20b", "domain"],
      ["creator=someone", "creator"],
      ["only_mine=maybe", "only_mine"],
      ["sort_by=random", "sort_by"],
      ["order=sideways", "order"],
    ] as const) {
      const res = await req("GET", `/api/v1/incidents/search?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json.parameter, q).toBe(parameter);
    }
  });
});

describe("read-your-writes", () => {
  it("rapid edits: the next read shows the last one, with no merge of the rows", async () => {
    // With merges stopped, only FINAL at read time can pick the newest version.
    await origin.services.db.client.command({ query: "SYSTEM STOP MERGES incidents" });
    const id = await create(who.owner, { title: "v0" });
    for (let i = 1; i <= 5; i++) {
      const r = await post("update", who.owner, { ...finding({ title: `v${i}` }), id });
      expect(r.status).toBe(200);
      expect((await show(id, who.owner)).json.incident.title).toBe(`v${i}`);
    }
    // Six versions stored side by side (mostly within one second): FINAL picks the last written.
    const [raw] = await queryRows<{ n: number }>(origin.services.db, "SELECT count() AS n FROM incidents WHERE id = {id:String}", { id });
    expect(Number(raw!.n)).toBe(6);
    await origin.services.db.client.command({ query: "SYSTEM START MERGES incidents" });
  });
});

// What OONI Explorer reads and sends (ooni/explorer d6f8ad8f: pages/findings/*, components/findings/
// Form.js, components/country/Overview.js) and upstream's oonifindings service answers.
describe("as Explorer uses findings", () => {
  it("themes and a slug are stored and answered; show/{slug} finds the finding", async () => {
    const id = await create(who.admin, { title: "Internet Blocked: in Zed-land!", themes: ["social_media", "news_media"], published: true });
    const s = await show(id);
    expect(s.json.incident.themes).toEqual(["social_media", "news_media"]);
    const slug = s.json.incident.slug as string;
    expect(slug).toBe(`${new Date().getUTCFullYear()}-internet-blocked-in-zed-land`);
    const bySlug = await show(slug);
    expect(bySlug.status).toBe(200);
    expect(bySlug.json.incident.id).toBe(id);
    expect((await show("2000-no-such-finding")).status).toBe(404);
    // A second finding with the same title gets its own slug.
    const twin = await create(who.admin, { title: "Internet Blocked: in Zed-land!", published: true });
    const twinSlug = (await show(twin)).json.incident.slug as string;
    expect(twinSlug).not.toBe(slug);
    expect((await show(twinSlug)).json.incident.id).toBe(twin);
    expect((await show(slug)).json.incident.id).toBe(id);
    // A slug sent by the creator is kept; an edit that sends it back (as Explorer does) keeps it.
    const chosen = await create(who.owner, { slug: "my-own-slug" });
    expect((await show("my-own-slug", who.owner)).json.incident.id).toBe(chosen);
    const { update_time: _u, mine: _m, ...back } = (await show(chosen, who.owner)).json.incident;
    expect((await post("update", who.owner, { ...back, title: "edited" })).status).toBe(200);
    expect((await show("my-own-slug", who.owner)).json.incident.title).toBe("edited");
  });

  it("filters by theme and country_code (repeatable: any of the values), as the country page and home do", async () => {
    const a = await create(who.admin, { CCs: ["ZW"], themes: ["circumvention"], published: true });
    const b = await create(who.admin, { CCs: ["ZM"], themes: ["news_media"], published: true });
    const c = await create(who.admin, { CCs: ["ZW", "ZM"], themes: [], published: true });
    const only = (ids: string[]) => ids.filter((x) => [a, b, c].includes(x)).sort();
    expect(only(await searchIds("?country_code=ZW"))).toEqual([a, c].sort());
    expect(only(await searchIds("?country_code=zm"))).toEqual([b, c].sort());
    expect(only(await searchIds("?country_code=ZW&country_code=ZM"))).toEqual([a, b, c].sort());
    expect(only(await searchIds("?theme=circumvention"))).toEqual([a]);
    expect(only(await searchIds("?theme=news_media&theme=circumvention"))).toEqual([a, b].sort());
    expect(only(await searchIds("?theme=news_media&country_code=ZW"))).toEqual([]);
    const bad = await req("GET", "/api/v1/incidents/search?country_code=ZWE");
    expect(bad.status).toBe(400);
    expect(bad.json.parameter).toBe("country_code");
  });

  it("keeps start and end times to the millisecond", async () => {
    const id = await create(who.owner, { start_time: "2024-03-01T10:20:30.123Z", end_time: "2024-03-02T00:00:00.5Z" });
    const i = (await show(id, who.owner)).json.incident;
    expect(i.start_time).toBe("2024-03-01T10:20:30.123000Z");
    expect(i.end_time).toBe("2024-03-02T00:00:00.500000Z");
    expect(i.create_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("email_address: the caller's own address where they may edit (creator, admin), else empty", async () => {
    const id = await create(who.owner, { email_address: "owner@example.org" });
    expect((await show(id, who.owner)).json.incident.email_address).toBe("owner@example.org");
    expect((await show(id, who.admin)).json.incident.email_address).toBe("admin@example.org");
    expect((await post("publish", who.admin, { id })).status).toBe(200);
    expect((await show(id)).json.incident.email_address).toBe("");
    expect((await show(id, who.other)).json.incident.email_address).toBe("");
    const listed = (await req("GET", "/api/v1/incidents/search", { bearer: who.other })).json.incidents as { id: string; email_address: string }[];
    expect(listed.find((x) => x.id === id)?.email_address).toBe("");
    // Stored nowhere: the table's email_address column stays empty.
    const [row] = await queryRows<{ e: string }>(origin.services.db, "SELECT any(email_address) AS e FROM incidents WHERE id = {id:String}", { id });
    expect(row!.e).toBe("");
  });
});
