import path from "node:path";
import { randomBytes } from "node:crypto";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { ADMIN, call, loginAll, OTHER, OWNER, type Bearers, type CallOptions, type Fetcher } from "./support";

// OONI Run v2 (spec bk-005) against a real origin process over HTTP: embedded chDB, the fixture
// GeoIP database and the small IT/US fixture test list the origin loads when citizenlab is empty.

const edgeSecret = randomBytes(24).toString("hex");
let origin: OriginProcess;
let f: Fetcher;
let who: Bearers;
const LINKS = "/api/v2/oonirun/links";

beforeAll(async () => {
  origin = await startOriginProcess({ env: { ADMIN_EMAILS: ADMIN, EDGE_SHARED_SECRET: edgeSecret } });
  f = (p, init) => fetch(`${origin.url}${p}`, init);
  who = await loginAll(f, path.join(origin.dataDir, "outbox"));
});

afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

const req = (method: string, p: string, o?: CallOptions) => call(f, method, p, o);

function descriptor(over: Record<string, unknown> = {}) {
  return {
    name: "Campaign for news sites",
    short_description: "Test news sites",
    description: "Checks whether news websites are blocked.",
    author: "",
    name_intl: { it: "Campagna per i siti di notizie" },
    nettests: [
      { test_name: "web_connectivity", inputs: ["https://example.com/", "https://ooni.org/"], options: { HTTP3Enabled: true } },
      { test_name: "dnscheck" },
    ],
    ...over,
  };
}

const LINK_KEYS = [
  "author", "color", "date_created", "date_updated", "description", "description_intl", "expiration_date", "icon",
  "is_expired", "is_mine", "name", "name_intl", "nettests", "oonirun_link_id", "revision", "short_description",
  "short_description_intl",
].sort();

async function createLink(bearer = who.owner, over: Record<string, unknown> = {}) {
  const r = await req("POST", LINKS, { bearer, body: descriptor(over) });
  expect(r.status, r.text).toBe(200);
  return r.json as Record<string, any>;
}

describe("create", () => {
  it("anonymous → 401; a user or an admin gets the link back with the backend's fields", async () => {
    const anon = await req("POST", LINKS, { body: descriptor() });
    expect(anon.status).toBe(401);
    expect(anon.json).toEqual({ error: "Authentication required" });

    const before = Date.now();
    const j = await createLink();
    expect(Object.keys(j).sort()).toEqual(LINK_KEYS);
    expect(j.oonirun_link_id).toMatch(/^10[0-9]{13}$/);
    expect(j).toMatchObject({ revision: "1", is_mine: true, is_expired: false, name: "Campaign for news sites", color: null, icon: null });
    expect(j.nettests).toEqual([
      {
        test_name: "web_connectivity",
        inputs: ["https://example.com/", "https://ooni.org/"],
        inputs_extra: null,
        targets_name: null,
        options: { HTTP3Enabled: true },
        is_background_run_enabled_default: true,
        is_manual_run_enabled_default: true,
      },
      {
        // Echoed as posted: no inputs sent, none answered (as upstream).
        test_name: "dnscheck",
        inputs: null,
        inputs_extra: null,
        targets_name: null,
        options: {},
        is_background_run_enabled_default: true,
        is_manual_run_enabled_default: true,
      },
    ]);
    expect(j.date_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const expiry = Date.parse(j.expiration_date);
    expect(expiry).toBeGreaterThanOrEqual(before + 179 * 86_400_000); // default: 180 days
    expect(expiry).toBeLessThanOrEqual(Date.now() + 181 * 86_400_000);

    const byAdmin = await createLink(who.admin);
    expect(byAdmin.is_mine).toBe(true);
    expect(byAdmin.oonirun_link_id).not.toBe(j.oonirun_link_id);
  });

  it("author: empty or the caller's own address (checked by its hash); admins may set any", async () => {
    const own = await req("POST", LINKS, { bearer: who.owner, body: descriptor({ author: ` ${OWNER.toUpperCase()} ` }) });
    expect(own.status, own.text).toBe(200);
    expect(own.json.author).toBe(OWNER.toUpperCase());
    for (const author of [OTHER, "contact@ooni.org", "OONI team"]) {
      const r = await req("POST", LINKS, { bearer: who.owner, body: descriptor({ author }) });
      expect(r.status, author).toBe(400);
      expect(r.json).toEqual({ error: "invalid author: must be empty or your own email address", parameter: "author", in: "json" });
    }
    expect((await req("POST", LINKS, { bearer: who.admin, body: descriptor({ author: "contact@ooni.org" }) })).status).toBe(200);
    const id = own.json.oonirun_link_id as string;
    const edit = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: descriptor({ author: "contact@ooni.org" }) });
    expect(edit.status).toBe(400);
    expect((await req("PUT", `${LINKS}/${id}`, { bearer: who.other, body: descriptor({ author: OTHER }) })).status).toBe(403);
    expect((await req("GET", `${LINKS}/${id}`)).json.author).toBe(OWNER.toUpperCase());
  });

  it("a forged or expired token is refused like no token", async () => {
    const r = await req("POST", LINKS, { bearer: `${who.owner.slice(0, -2)}xx`, body: descriptor() });
    expect(r.status).toBe(401);
  });

  const bad: [string, unknown, string][] = [
    ["inputs together with targets_name", descriptor({ nettests: [{ test_name: "web_connectivity", inputs: ["https://a.example/"], targets_name: "websites_list_prioritized" }] }), "nettests.0.targets_name"],
    ["empty inputs together with targets_name", descriptor({ nettests: [{ test_name: "web_connectivity", inputs: [], targets_name: "websites_list_prioritized" }] }), "nettests.0.targets_name"],
    ["inputs_extra together with targets_name", descriptor({ nettests: [{ test_name: "web_connectivity", inputs_extra: [{}], targets_name: "websites_list_prioritized" }] }), "nettests.0.targets_name"],
    ["unknown targets_name", descriptor({ nettests: [{ test_name: "web_connectivity", targets_name: "everything" }] }), "nettests.0.targets_name"],
    ["inputs_extra of another length", descriptor({ nettests: [{ test_name: "web_connectivity", inputs: ["https://a.example/"], inputs_extra: [{}, {}] }] }), "nettests.0.inputs_extra"],
    ["no name", { ...descriptor(), name: undefined }, "name"],
    ["a one-letter name", descriptor({ name: "x" }), "name"],
    ["an empty translation", descriptor({ name_intl: { it: "" } }), "name_intl.it"],
    ["a bad colour", descriptor({ color: "red" }), "color"],
    ["a bad expiration_date", descriptor({ expiration_date: "next week" }), "expiration_date"],
    ["an expiration_date ClickHouse cannot store", descriptor({ expiration_date: "3000-01-01T00:00:00Z" }), "expiration_date"],
    ["no nettests", descriptor({ nettests: [] }), "nettests"],
    ["a bad test_name", descriptor({ nettests: [{ test_name: "Web Connectivity!" }] }), "nettests.0.test_name"],
    ["nettests not a list", descriptor({ nettests: "web_connectivity" }), "nettests"],
  ];
  for (const [what, body, parameter] of bad) {
    it(`400 naming the parameter: ${what}`, async () => {
      const r = await req("POST", LINKS, { bearer: who.owner, body });
      expect(r.status, r.text).toBe(400);
      expect(r.json).toMatchObject({ parameter });
      expect(typeof r.json.error).toBe("string");
    });
  }

  it("400 for a body that is not JSON or not an object; 413 for a huge one", async () => {
    for (const body of ["{not json", "[1,2]", '"text"']) {
      const r = await req("POST", LINKS, { bearer: who.owner, body });
      expect(r.status, body).toBe(400);
      expect(r.json.error).toEqual(expect.any(String));
    }
    // Its own connection: the server answers before reading the body and then closes the socket.
    const agent = new Agent();
    const huge = await undiciFetch(`${origin.url}${LINKS}`, {
      method: "POST",
      headers: { authorization: `Bearer ${who.owner}`, "content-type": "application/json" },
      body: JSON.stringify(descriptor({ description: "x".repeat(2 * 1024 * 1024) })),
      dispatcher: agent,
    }).catch((e: unknown) => e as Error);
    await agent.close();
    if (huge instanceof Error) throw huge;
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: "request body too large" });
  });
});

describe("deeply nested free-form fields (found by fuzzing: a 500 from stack overflow)", () => {
  // Built as text: the test's own JSON.stringify would overflow on such a value too.
  const nested = (levels: number) => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);
  const body = (nettest: string) => JSON.stringify(descriptor({ nettests: ["__NETTEST__"] })).replace('"__NETTEST__"', nettest);

  it("options or an inputs_extra entry nested 20,000 levels deep → 400 naming the field, on create and edit", async () => {
    const link = await createLink();
    const cases = [
      ['{"test_name":"web_connectivity","options":' + nested(20_000) + "}", "nettests.0.options"],
      ['{"test_name":"web_connectivity","inputs":["https://example.com/"],"inputs_extra":[' + nested(20_000) + "]}", "nettests.0.inputs_extra.0"],
    ] as const;
    for (const [nettest, parameter] of cases) {
      for (const [method, p] of [["POST", LINKS], ["PUT", `${LINKS}/${link.oonirun_link_id}`]] as const) {
        const r = await req(method, p, { bearer: who.owner, body: body(nettest) });
        expect(r.status, `${method} ${parameter}: ${r.text}`).toBe(400);
        expect(r.json).toMatchObject({ parameter, error: expect.stringContaining("nest") });
      }
    }
  });

  it("nesting within the bound (32 levels) is stored and read back as sent", async () => {
    const r = await req("POST", LINKS, { bearer: who.owner, body: body('{"test_name":"web_connectivity","options":' + nested(31) + "}") });
    expect(r.status, r.text).toBe(200);
    expect(JSON.stringify(r.json.nettests[0].options)).toBe(nested(31));
  });
});

describe("read", () => {
  let link: Record<string, any>;
  beforeAll(async () => {
    link = await createLink();
  });

  it("anyone reads a link; is_mine only for its creator", async () => {
    const anon = await req("GET", `${LINKS}/${link.oonirun_link_id}`);
    expect(anon.status).toBe(200);
    expect(anon.json).toEqual({ ...link, is_mine: false });
    expect((await req("GET", `${LINKS}/${link.oonirun_link_id}`, { bearer: who.owner })).json.is_mine).toBe(true);
    expect((await req("GET", `${LINKS}/${link.oonirun_link_id}`, { bearer: who.other })).json.is_mine).toBe(false);
    expect((await req("GET", `${LINKS}/${link.oonirun_link_id}`, { bearer: who.admin })).json.is_mine).toBe(false);
    // A bad token on a public route reads as anonymous rather than failing.
    expect((await req("GET", `${LINKS}/${link.oonirun_link_id}`, { bearer: "garbage" })).json.is_mine).toBe(false);
  });

  it("unknown ids → 404 JSON; ids that are not numbers → 400", async () => {
    for (const id of ["1234676871672836187", "99999999999999999999"]) {
      for (const p of [`${LINKS}/${id}`, `${LINKS}/${id}/revisions`, `${LINKS}/${id}/full-descriptor/latest`]) {
        const r = await req("GET", p);
        expect(r.status, p).toBe(404);
        expect(r.json).toEqual({ error: "OONI Run link not found" });
      }
    }
    for (const p of [`${LINKS}/abc`, `${LINKS}/12ab/revisions`, `${LINKS}/${link.oonirun_link_id}/full-descriptor/notarevision`]) {
      const r = await req("GET", p);
      expect(r.status, p).toBe(400);
      expect(r.json.error).toEqual(expect.any(String));
    }
    expect((await req("GET", `${LINKS}/${link.oonirun_link_id}/full-descriptor/7`)).status).toBe(404);
  });
});

describe("edit", () => {
  it("authorization: anonymous 401, another user 403, the owner and an admin 200; unknown id 404", async () => {
    const link = await createLink();
    const id = link.oonirun_link_id as string;
    const body = descriptor({ name: "Renamed campaign" });
    expect((await req("PUT", `${LINKS}/${id}`, { body })).status).toBe(401);
    const other = await req("PUT", `${LINKS}/${id}`, { bearer: who.other, body });
    expect(other.status).toBe(403);
    expect(other.json).toEqual({ error: "You are not the owner of this OONI Run link" });
    expect((await req("GET", `${LINKS}/${id}`)).json.name).toBe("Campaign for news sites"); // unchanged

    const owner = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body });
    expect(owner.status).toBe(200);
    expect(owner.json).toMatchObject({ oonirun_link_id: id, name: "Renamed campaign", is_mine: true });
    const admin = await req("PUT", `${LINKS}/${id}`, { bearer: who.admin, body: descriptor({ name: "Renamed by admin" }) });
    expect(admin.status).toBe(200);
    expect(admin.json).toMatchObject({ name: "Renamed by admin", is_mine: false });
    // Read-your-writes: the very next read sees the admin's edit.
    expect((await req("GET", `${LINKS}/${id}`)).json.name).toBe("Renamed by admin");

    expect((await req("PUT", `${LINKS}/1234676871672836187`, { bearer: who.owner, body })).status).toBe(404);
    const bad = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: descriptor({ nettests: [{ test_name: "web_connectivity", inputs: ["https://a/"], targets_name: "websites_list_prioritized" }] }) });
    expect(bad.status).toBe(400);
  });

  it("nettest changes make revisions; translation changes do not; old revisions keep their nettests", async () => {
    const link = await createLink();
    const id = link.oonirun_link_id as string;
    const v2 = descriptor();
    v2.nettests[0]!.inputs!.push("https://foo.net/");
    const r2 = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: v2 });
    expect(r2.json.revision).toBe("2");
    expect(Date.parse(r2.json.date_created)).toBeGreaterThanOrEqual(Date.parse(link.date_created));

    await new Promise((r) => setTimeout(r, 5));
    const translated = { ...v2, description_intl: { it: "Controlla se i siti di notizie sono bloccati." } };
    const r3 = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: translated });
    expect(r3.status).toBe(200);
    expect(r3.json.revision).toBe("2"); // a translation does not ask probes to re-approve the link
    expect(r3.json.date_created).toBe(r2.json.date_created);
    expect(Date.parse(r3.json.date_updated)).toBeGreaterThan(Date.parse(r3.json.date_created));

    // Sending the same descriptor again changes nothing.
    const same = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: translated });
    expect(same.json).toEqual(r3.json);
    // Reordering the keys of options is not a change of the nettests either.
    const reordered = { ...translated, nettests: [{ ...translated.nettests[0], options: { HTTP3Enabled: true } }, translated.nettests[1]] };
    expect((await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: reordered })).json.revision).toBe("2");

    expect((await req("GET", `${LINKS}/${id}/revisions`)).json).toEqual({ revisions: ["2", "1"] });
    const first = await req("GET", `${LINKS}/${id}/full-descriptor/1`);
    expect(first.json.revision).toBe("1");
    expect(first.json.nettests[0].inputs).toEqual(["https://example.com/", "https://ooni.org/"]);
    expect(first.json.date_created).toBe(link.date_created);
    // Metadata is always the current one (the latest translations).
    expect(first.json.description_intl).toEqual({ it: "Controlla se i siti di notizie sono bloccati." });
    expect((await req("GET", `${LINKS}/${id}?revision=1`)).json).toEqual(first.json);
    const latest = await req("GET", `${LINKS}/${id}/full-descriptor/latest`);
    expect(latest.json.revision).toBe("2");
    expect(latest.json.nettests[0].inputs).toHaveLength(3);
  });

  it("expiry: an expired link is marked, hidden from lists, and no longer editable by its owner (an admin still can)", async () => {
    const link = await createLink();
    const id = link.oonirun_link_id as string;
    const past = new Date(Date.now() - 60_000).toISOString();
    const expired = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: descriptor({ expiration_date: past }) });
    expect(expired.status).toBe(200);
    expect(expired.json.is_expired).toBe(true);
    expect((await req("GET", `${LINKS}/${id}`)).json.is_expired).toBe(true);

    const again = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: descriptor({ expiration_date: past, name: "Try again" }) });
    expect(again.status).toBe(403);
    expect(again.json).toEqual({ error: "OONI Run link has expired and cannot be edited" });

    const ids = async (q: string, bearer?: string) =>
      ((await req("GET", `${LINKS}${q}`, { bearer })).json.links as { oonirun_link_id: string }[]).map((l) => l.oonirun_link_id);
    expect(await ids("")).not.toContain(id);
    expect(await ids("?is_expired=true")).toContain(id);
    expect(await ids("?is_expired=True&is_mine=true", who.owner)).toContain(id);

    const future = new Date(Date.now() + 86_400_000).toISOString();
    const revived = await req("PUT", `${LINKS}/${id}`, { bearer: who.admin, body: descriptor({ expiration_date: future }) });
    expect(revived.status).toBe(200);
    expect(revived.json.is_expired).toBe(false);
    expect(await ids("")).toContain(id);
  });
});

describe("list", () => {
  it("is_mine filters by the caller (none for anonymous); only_latest=false lists every revision", async () => {
    const mine = await createLink(who.other, { name: "Other's link" });
    const id = mine.oonirun_link_id as string;
    const v2 = descriptor({ name: "Other's link" });
    v2.nettests.pop();
    await req("PUT", `${LINKS}/${id}`, { bearer: who.other, body: v2 });

    const all = await req("GET", LINKS);
    expect(all.status).toBe(200);
    // upstream's oonirun_links (the OONI Run app's list page reads it) and spec bk-005's links
    expect(Object.keys(all.json)).toEqual(["oonirun_links", "links"]);
    expect(all.json.oonirun_links).toEqual(all.json.links);
    const entry = (all.json.links as any[]).find((l) => l.oonirun_link_id === id);
    expect(entry).toMatchObject({ revision: "2", is_mine: false });
    expect(Object.keys(entry).sort()).toEqual(LINK_KEYS);

    expect((await req("GET", `${LINKS}?is_mine=true`)).json).toEqual({ oonirun_links: [], links: [] });
    const others = (await req("GET", `${LINKS}?is_mine=true`, { bearer: who.other })).json.links as any[];
    expect(others.map((l) => l.oonirun_link_id)).toEqual([id]);
    expect(others[0].is_mine).toBe(true);
    const owners = (await req("GET", `${LINKS}?is_mine=1`, { bearer: who.owner })).json.links as any[];
    expect(owners.length).toBeGreaterThan(0);
    expect(owners.every((l) => l.is_mine)).toBe(true);
    expect(owners.map((l) => l.oonirun_link_id)).not.toContain(id);

    const revs = ((await req("GET", `${LINKS}?is_mine=true&only_latest=false`, { bearer: who.other })).json.links as any[]).map(
      (l) => [l.revision, l.nettests.length],
    );
    expect(revs).toEqual([["2", 1], ["1", 2]]);
    expect((await req("GET", `${LINKS}?is_mine=maybe`)).status).toBe(400);
  });
});

describe("engine descriptor (what a probe fetches)", () => {
  const UA = "ooniprobe-android/3.8.2 (android) ooniprobe-engine/3.17.2";
  let id: string;
  beforeAll(async () => {
    const link = await createLink(who.owner, {
      nettests: [
        { test_name: "web_connectivity", targets_name: "websites_list_prioritized", is_background_run_enabled: false },
        { test_name: "dnscheck", inputs: ["https://dns.google/dns-query"], inputs_extra: [{ kind: "doh" }] },
      ],
    });
    id = link.oonirun_link_id;
    // The stored descriptor has no URLs for the dynamic list: they are computed per probe.
    expect(link.nettests[0]).toMatchObject({ targets_name: "websites_list_prioritized", inputs: null, inputs_extra: null });
  });

  async function engine(body: Record<string, unknown>, revision = "latest", headers: Record<string, string> = {}) {
    return req("POST", `${LINKS}/${id}/engine-descriptor/${revision}`, { body, headers: { "user-agent": UA, ...headers } });
  }
  const meta = { is_charging: true, run_type: "manual", probe_cc: "IT", probe_asn: "AS30722", network_type: "wifi", website_category_codes: [] };

  it("an Italian probe gets Italian and global URLs, never the US list, with a category per URL", async () => {
    const r = await engine(meta);
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(["date_created", "nettests", "revision"]);
    expect(r.json.revision).toBe("1");
    expect(r.headers.get("vary")).toMatch(/X-OONI-Credentials/i);
    const [web, dns] = r.json.nettests;
    expect(web.targets_name).toBe("websites_list_prioritized");
    // (sent under bk-005's name, answered under upstream's)
    expect(web.is_background_run_enabled_default).toBe(false);
    expect(web.inputs).toContain("https://www.repubblica.it/"); // fixture it.csv
    expect(web.inputs).toContain("https://www.torproject.org/"); // fixture global.csv
    expect(web.inputs).not.toContain("https://www.nytimes.com/"); // fixture us.csv
    expect(web.inputs_extra).toHaveLength(web.inputs.length);
    expect(web.inputs_extra[web.inputs.indexOf("https://www.repubblica.it/")]).toEqual({ category_code: "NEWS" });
    expect(new Set(web.inputs).size).toBe(web.inputs.length);
    // Fixed inputs are passed through as they are.
    expect(dns).toMatchObject({ inputs: ["https://dns.google/dns-query"], inputs_extra: [{ kind: "doh" }], targets_name: null });
  });

  it("a US probe gets the US list; categories filter; a background run gets at most 20 URLs", async () => {
    const us = await engine({ ...meta, probe_cc: "US", probe_asn: "AS7922" });
    const inputs = us.json.nettests[0].inputs as string[];
    expect(inputs).toContain("https://www.nytimes.com/");
    expect(inputs).not.toContain("https://www.repubblica.it/");

    const news = await engine({ ...meta, website_category_codes: ["NEWS"] });
    const extra = news.json.nettests[0].inputs_extra as { category_code: string }[];
    expect(extra.length).toBeGreaterThan(0);
    expect(extra.every((e) => e.category_code === "NEWS")).toBe(true);

    const all = (await engine(meta)).json.nettests[0].inputs.length as number;
    expect(all).toBeGreaterThan(20); // the fixture has more than 20 IT + global URLs
    const timed = await engine({ ...meta, run_type: "timed", is_charging: false });
    expect(timed.json.nettests[0].inputs).toHaveLength(20);
  });

  it("a probe that does not know its network (ZZ/AS0) gets the list of its address's country", async () => {
    // Through the edge: X-Forwarded-For counts with the shared secret. 198.51.100.7 is US in the fixture.
    const r = await engine({ ...meta, probe_cc: "ZZ", probe_asn: "AS0" }, "latest", {
      "x-forwarded-for": "198.51.100.7",
      "x-ooni-edge-auth": edgeSecret,
    });
    expect(r.json.nettests[0].inputs).toContain("https://www.nytimes.com/");
  });

  it("an older revision is served as it was; bad input is a 400, an unknown link a 404", async () => {
    const v2 = {
      ...descriptor(),
      nettests: [{ test_name: "web_connectivity", inputs: ["https://fixed.example/"] }],
    };
    expect((await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: v2 })).json.revision).toBe("2");
    expect((await engine(meta)).json.nettests).toHaveLength(1);
    const old = await engine(meta, "1");
    expect(old.json.revision).toBe("1");
    expect(old.json.nettests[0].inputs.length).toBeGreaterThan(0);

    for (const [body, parameter] of [
      [{ ...meta, run_type: "bad" }, "run_type"],
      [{ ...meta, probe_cc: "ITA" }, "probe_cc"],
      [{ ...meta, probe_asn: "30722" }, "probe_asn"],
      [{ ...meta, is_charging: "yes" }, "is_charging"],
      [{ ...meta, website_category_codes: "NEWS" }, "website_category_codes"],
    ] as const) {
      const r = await engine(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.parameter).toBe(parameter);
    }
    expect((await engine(meta, "x1")).status).toBe(400);
    expect((await engine(meta, "9")).status).toBe(404);
    const unknown = await req("POST", `${LINKS}/1234676871672836187/engine-descriptor/latest`, { body: meta });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: "OONI Run link not found" });
  });
});

// What the OONI Run app (ooni/run 243b499: pages/create.tsx, pages/edit/[linkId].tsx, pages/list.tsx,
// components/form/TestListForm.tsx) sends and reads.
describe("as the OONI Run app uses links", () => {
  const fromApp = (over: Record<string, unknown> = {}) => ({
    name: "Run app link",
    short_description: "made in the app",
    description: "A link created the way run.ooni.org creates one.",
    icon: "",
    color: "#000000",
    author: "",
    name_intl: {},
    description_intl: {},
    short_description_intl: {},
    expiration_date: "2030-01-01T00:00:00Z",
    nettests: [
      {
        test_name: "web_connectivity",
        inputs: ["https://example.org/"],
        options: {},
        backend_options: {},
        is_background_run_enabled_default: false,
        is_manual_run_enabled_default: false,
      },
      { test_name: "web_connectivity", targets_name: "websites_list_prioritized", options: {}, is_background_run_enabled_default: true, is_manual_run_enabled_default: false },
    ],
    ...over,
  });

  it("*_run_enabled_default flags sent as false stay false; nettests are echoed as posted", async () => {
    const r = await req("POST", LINKS, { bearer: who.owner, body: fromApp() });
    expect(r.status, r.text).toBe(200);
    const [fixed, dynamic] = r.json.nettests;
    expect(fixed).toMatchObject({ inputs: ["https://example.org/"], options: {}, is_background_run_enabled_default: false, is_manual_run_enabled_default: false });
    expect(fixed.is_background_run_enabled).toBeUndefined();
    expect(dynamic).toMatchObject({ targets_name: "websites_list_prioritized", inputs: null, is_background_run_enabled_default: true, is_manual_run_enabled_default: false });
    const got = await req("GET", `${LINKS}/${r.json.oonirun_link_id}`);
    expect(got.json.nettests).toEqual(r.json.nettests);
    // The probe's engine descriptor carries the same flags, and a list of inputs.
    const engine = await req("POST", `${LINKS}/${r.json.oonirun_link_id}/engine-descriptor/latest`, { body: { probe_cc: "IT", probe_asn: "AS30722" } });
    expect(engine.status, engine.text).toBe(200);
    expect(engine.json.nettests[0]).toMatchObject({ is_background_run_enabled_default: false, is_manual_run_enabled_default: false });
    expect(Array.isArray(engine.json.nettests[1].inputs)).toBe(true);
  });

  it("a link PUT back exactly as GET returned it is accepted and changes nothing", async () => {
    const r = await req("POST", LINKS, { bearer: who.owner, body: fromApp({ name: "Put me back" }) });
    const id = r.json.oonirun_link_id as string;
    const got = (await req("GET", `${LINKS}/${id}`, { bearer: who.owner })).json;
    const put = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: got });
    expect(put.status, put.text).toBe(200);
    expect(put.json.revision).toBe("1");
    expect(put.json.nettests).toEqual(got.nettests);
    expect(put.json.date_updated).toBe(got.date_updated);
  });

  it("an empty icon (the app sends \"\" for none) comes back \"\", not null: the app's edit form refuses null", async () => {
    const r = await req("POST", LINKS, { bearer: who.owner, body: fromApp({ name: "No icon" }) });
    expect(r.json.icon).toBe("");
    const id = r.json.oonirun_link_id as string;
    expect((await req("GET", `${LINKS}/${id}`)).json.icon).toBe("");
    const listed = (await req("GET", `${LINKS}?is_mine=true`, { bearer: who.owner })).json.oonirun_links.find((l: { oonirun_link_id: string }) => l.oonirun_link_id === id);
    expect(listed.icon).toBe("");
    // an edit that sets an icon, then removes it again, as the app's form does
    const withIcon = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: fromApp({ name: "No icon", icon: "FaNewspaper" }) });
    expect(withIcon.json.icon).toBe("FaNewspaper");
    const without = await req("PUT", `${LINKS}/${id}`, { bearer: who.owner, body: fromApp({ name: "No icon", icon: "" }) });
    expect(without.json.icon).toBe("");
    // absent stays null (as upstream); a control character is refused
    expect((await req("POST", LINKS, { bearer: who.owner, body: fromApp({ name: "Null icon", icon: undefined }) })).json.icon).toBeNull();
    const bad = await req("POST", LINKS, { bearer: who.owner, body: fromApp({ name: "Bad icon", icon: "\u0000" }) });
    expect(bad.status).toBe(400);
  });

  it("the list answers oonirun_links, where the app's list page reads them", async () => {
    const r = await req("POST", LINKS, { bearer: who.owner, body: fromApp({ name: "Listed link" }) });
    const mine = await req("GET", `${LINKS}?is_mine=true`, { bearer: who.owner });
    expect((mine.json.oonirun_links as { oonirun_link_id: string }[]).map((l) => l.oonirun_link_id)).toContain(r.json.oonirun_link_id);
  });
});
