import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshEmail, startUpstream, type Upstream } from "./support";

// ooni/backend ooniapi/services/oonirun/tests/test_oonirun.py (32d8349d), as our tests. Upstream's
// "user" fixture is an account whose address is the sample's author; each test here logs in a fresh
// address (so "my links" hold exactly this test's) and writes it as the author.

const ADMIN = "upstream-run-admin@example.com";
const LINKS = "/api/v2/oonirun/links";
let u: Upstream;
beforeAll(async () => {
  u = await startUpstream({ ADMIN_EMAILS: ADMIN });
});
afterAll(async () => {
  await u?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form JSON, as the Python tests have it
function sample(author: string): any {
  return {
    name: "",
    name_intl: {},
    description: "integ-test description in English",
    description_intl: { es: "integ-test descripción en español" },
    short_description: "integ-test short description in English",
    short_description_intl: { it: "integ-test descrizione breve in italiano" },
    icon: "myicon",
    author,
    nettests: [
      {
        inputs: ["https://example.com/", "https://ooni.org/"],
        targets_name: null,
        inputs_extra: null,
        options: { HTTP3Enabled: true },
        is_background_run_enabled_default: false,
        is_manual_run_enabled_default: false,
        test_name: "web_connectivity",
      },
      {
        inputs: [],
        targets_name: null,
        inputs_extra: null,
        options: {},
        is_background_run_enabled_default: false,
        is_manual_run_enabled_default: false,
        test_name: "dnscheck",
      },
      {
        inputs: null,
        targets_name: "websites_list_prioritized",
        inputs_extra: null,
        options: {},
        is_background_run_enabled_default: false,
        is_manual_run_enabled_default: false,
        test_name: "dnscheck",
      },
    ],
  };
}

const LINK_KEYS = [
  "oonirun_link_id", "date_created", "date_updated", "revision", "is_mine", "is_expired", "name", "short_description",
  "description", "author", "nettests", "name_intl", "short_description_intl", "description_intl", "icon", "color",
  "expiration_date",
].sort();

const META = { run_type: "timed", is_charging: true, probe_asn: "AS1234", probe_cc: "VE", network_type: "wifi", website_category_codes: [] };
const minuteAgo = () => new Date(Date.now() - 60_000).toISOString().replace("Z", "000Z");
const recent = (iso: string) => {
  const t = Date.parse(iso);
  return t < Date.now() + 10 * 60_000 && t > Date.now() - 3_600_000;
};

async function user(tag: string) {
  const email = freshEmail(tag);
  return { email, bearer: (await u.login(email, "https://run.ooni.org/")).bearer };
}

async function create(bearer: string, z: unknown) {
  const r = await u.req("POST", LINKS, { bearer, body: z });
  expect(r.status, r.text).toBe(200);
  expect(r.json.oonirun_link_id).toMatch(/^10/);
  return r.json as Record<string, any>;
}

describe("oonirun v2", () => {
  it("test_oonirun_author_validation: someone else's address is refused, one's own accepted", async () => {
    const me = await user("author");
    const z = { ...sample(me.email), name: "integ-test name in English" };
    const { author: _a, ...noAuthor } = z;
    // deviation: upstream requires author (422); an empty or absent author is allowed here (it is
    // how a person publishes without an address: docs/write-apis.md)
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: noAuthor })).status).toBe(200);
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...z, author: "not an author" } })).status).not.toBe(200);
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...z, author: "nome@example.com" } })).status).not.toBe(200);
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: z })).status).toBe(200);
  });

  it("test_oonirun_validation: anonymous, empty name, empty translation refused; name_intl null accepted", async () => {
    const me = await user("validation");
    expect((await u.req("POST", LINKS, { body: sample(me.email) })).status).not.toBe(200);
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: sample(me.email) })).status).toBe(400); // 422 → 400
    const named = { ...sample(me.email), name: "integ-test name in English" };
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...named, name_intl: { it: "" } } })).status).toBe(400); // 422 → 400
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...named, name_intl: null } })).status).toBe(200);
  });

  it("test_oonirun_not_found: another author refused; expired links cannot be edited and leave the list", async () => {
    const me = await user("notfound");
    const j = await create(me.bearer, { ...sample(me.email), name: "integ-test name in English", name_intl: { it: "integ-test nome in italiano" } });
    const id = j.oonirun_link_id;
    expect((await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: { ...j, author: "notme@example.com" } })).status).not.toBe(200);
    const expired = { ...j, expiration_date: minuteAgo() };
    expect((await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: expired })).status).toBe(200);
    expect((await u.req("PUT", `${LINKS}/1234676871672836187`, { bearer: me.bearer, body: expired })).status).toBe(404);
    expect((await u.req("GET", `${LINKS}/1234676871672836187`)).status).toBe(404);
    expect((await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: expired })).status).toBe(403);
    const list = await u.req("GET", `${LINKS}?is_mine=true`, { bearer: me.bearer });
    expect(list.json.oonirun_links).toEqual([]);
  });

  it("test_oonirun_admin: the owner and an admin may both edit", async () => {
    const me = await user("admin");
    const admin = (await u.login(ADMIN, "https://run.ooni.org/")).bearer;
    const z = { ...sample(me.email), name: "integ-test name in English" };
    const id = (await create(me.bearer, z)).oonirun_link_id;
    expect((await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: { ...z, name: "changed name by user" } })).status).toBe(200);
    expect((await u.req("PUT", `${LINKS}/${id}`, { bearer: admin, body: { ...z, name: "changed name by admin" } })).status).toBe(200);
  });

  it("test_oonirun_full_workflow: echo, revisions, lists for owner/admin/anonymous, translations, expiry", async () => {
    const me = await user("workflow");
    const admin = (await u.login(ADMIN, "https://run.ooni.org/")).bearer;
    const z = sample(me.email);
    z.name = "integ-test name in English";
    z.name_intl.it = "integ-test nome in italiano";
    await create(me.bearer, z);
    z.name = "second descriptor in English";
    z.name_intl.it = "second integ-test nome in italiano";
    const id = (await create(me.bearer, z)).oonirun_link_id;

    for (const q of ["", "?revision=1"]) {
      const j = (await u.req("GET", `${LINKS}/${id}${q}`, { bearer: me.bearer })).json;
      expect(j.name).toBe(z.name);
      expect(j.name_intl).toEqual(z.name_intl);
      expect(j.author).toBe(z.author);
      expect(j.description).toBe(z.description);
      expect(j.nettests).toEqual(z.nettests); // nettests echoed as posted
      expect(recent(j.date_created) && recent(j.date_updated)).toBe(true);
      expect(j.date_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(j).toMatchObject({ is_mine: true, revision: "1" });
    }
    for (const bearer of [me.bearer, admin, undefined]) {
      const links = (await u.req("GET", LINKS, { bearer })).json.oonirun_links as any[];
      const mine = links.find((d) => d.oonirun_link_id === id);
      expect(mine).toBeDefined();
      if (bearer === undefined) expect(mine).toMatchObject({ is_mine: false, is_expired: false });
      for (const d of links) expect(Object.keys(d).sort()).toEqual(LINK_KEYS);
    }

    z.nettests[0].inputs.push("https://foo.net/");
    const put = await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: z });
    expect(put.status, put.text).toBe(200);
    expect(put.json.oonirun_link_id).toBe(id);
    const after = (await u.req("GET", `${LINKS}/${id}`, { bearer: me.bearer })).json;
    expect(after).toMatchObject({ is_mine: true, is_expired: false });
    expect(Number(after.revision)).toBeGreaterThan(1);
    const mine = (await u.req("GET", `${LINKS}?is_mine=True`, { bearer: me.bearer })).json.oonirun_links as any[];
    expect(mine).toHaveLength(2);
    for (const d of mine) expect(d).toMatchObject({ is_mine: true, is_expired: false });

    // A translation changes date_updated, not date_created.
    await new Promise((r) => setTimeout(r, 1100));
    z.description_intl.it = "integ-test *nuova* descrizione in italiano";
    expect((await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: z })).json.oonirun_link_id).toBe(id);
    const tr = (await u.req("GET", `${LINKS}/${id}`, { bearer: me.bearer })).json;
    expect(Object.keys(tr).sort()).toEqual(LINK_KEYS);
    expect(Date.parse(tr.date_updated)).toBeGreaterThan(Date.parse(tr.date_created));
    expect(tr.description_intl.it).toBe("integ-test *nuova* descrizione in italiano");

    const archived = await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: { ...tr, expiration_date: minuteAgo() } });
    expect(archived.status, archived.text).toBe(200);
    expect(archived.json.is_expired).toBe(true);
    expect((await u.req("GET", `${LINKS}?is_mine=true&is_expired=True`, { bearer: me.bearer })).json.oonirun_links).toHaveLength(2);
    expect((await u.req("GET", `${LINKS}/${id}`, { bearer: me.bearer })).json.nettests).toHaveLength(3);
    expect((await u.req("GET", `${LINKS}?is_mine=true`, { bearer: me.bearer })).json.oonirun_links).toHaveLength(1);
    expect((await u.req("GET", `${LINKS}/${id}`, { bearer: me.bearer })).json.is_expired).toBe(true);
  });

  it("test_oonirun_expiration: a new revision keeps the expiry; an expired link lists only with is_expired", async () => {
    const me = await user("expiration");
    const id = (await create(me.bearer, { ...sample(me.email), name: "integ-test name in English" })).oonirun_link_id;
    let j = (await u.req("GET", `${LINKS}/${id}`)).json;
    expect(j.is_expired).toBe(false);
    j.nettests[0].inputs.push("https://foo.net/");
    const put = await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: j });
    expect(put.status, put.text).toBe(200);
    j = (await u.req("GET", `${LINKS}/${id}`)).json;
    expect(j.revision).toBe("2");
    expect(j.expiration_date).toBe(put.json.expiration_date);
    const exp = await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: { ...j, expiration_date: minuteAgo() } });
    expect(exp.json.is_expired).toBe(true);
    expect((await u.req("GET", `${LINKS}/${id}`)).json.is_expired).toBe(true);
    expect((await u.req("GET", `${LINKS}?is_mine=true`, { bearer: me.bearer })).json.oonirun_links).toHaveLength(0);
    const all = (await u.req("GET", `${LINKS}?is_mine=true&is_expired=True`, { bearer: me.bearer })).json.oonirun_links as any[];
    expect(all).toHaveLength(1);
    expect(all[0].is_expired).toBe(true);
  });

  it("test_oonirun_revisions: dates per revision, revision list, latest, engine descriptor, 404s", async () => {
    const me = await user("revisions");
    let j = await create(me.bearer, { ...sample(me.email), name: "first descriptor" });
    const one = j.oonirun_link_id;
    j.nettests[0].inputs.push("https://foo.net/");
    j = (await u.req("PUT", `${LINKS}/${one}`, { bearer: me.bearer, body: j })).json;
    const firstCreated = j.date_created; // revision 2's (upstream's names, not ours)
    await new Promise((r) => setTimeout(r, 1100));
    j.nettests[0].inputs.push("https://foo2.net/");
    j = (await u.req("PUT", `${LINKS}/${one}`, { bearer: me.bearer, body: j })).json;
    const secondCreated = j.date_created;
    expect((await u.req("GET", `${LINKS}/${one}/full-descriptor/2`)).json.date_created).toBe(firstCreated);
    expect((await u.req("GET", `${LINKS}/${one}/full-descriptor/3`)).json.date_created).toBe(secondCreated);

    let k = await create(me.bearer, { ...sample(me.email), name: "second descriptor" });
    k.nettests[0].inputs.push("https://foo.net/");
    k = (await u.req("PUT", `${LINKS}/${k.oonirun_link_id}`, { bearer: me.bearer, body: k })).json;
    expect((await u.req("GET", `${LINKS}/${one}`)).json.revision).toBe("3");
    expect((await u.req("GET", `${LINKS}?is_mine=true`, { bearer: me.bearer })).json.oonirun_links).toHaveLength(2);

    const latest = (await u.req("GET", `${LINKS}/${one}/full-descriptor/latest`)).json;
    expect(latest.revision).toBe("3");
    expect((await u.req("GET", `${LINKS}/${one}/full-descriptor/2`)).json.revision).toBe("2");
    const revs = (await u.req("GET", `${LINKS}/${one}/revisions`)).json.revisions;
    expect(revs).toHaveLength(3);
    expect(revs[0]).toBe("3");

    const engine = await u.req("POST", `${LINKS}/${one}/engine-descriptor/latest`, { body: META });
    expect(engine.json.revision).toBe("3");
    // The engine descriptor computes the dynamic list: upstream's test database has no URLs
    // (inputs [] and inputs_extra []); our fixture test list has global ones, one extra per URL.
    const expected = structuredClone(latest.nettests);
    const dyn = engine.json.nettests[2];
    expect(Array.isArray(dyn.inputs) && Array.isArray(dyn.inputs_extra) && dyn.inputs.length === dyn.inputs_extra.length).toBe(true);
    expected[2].inputs = dyn.inputs;
    expected[2].inputs_extra = dyn.inputs_extra;
    expect(engine.json.nettests).toEqual(expected);
    expect(engine.json.date_created).toBe(latest.date_created);
    // Revision 3 is latest; the dynamic list is drawn again (prioritization shuffles ties), so it is
    // compared without its URLs.
    const withoutUrls = (e: any) => ({ ...e, nettests: e.nettests.map((n: any) => (n.targets_name ? { ...n, inputs: null, inputs_extra: null } : n)) });
    expect(withoutUrls((await u.req("POST", `${LINKS}/${one}/engine-descriptor/3`, { body: META })).json)).toEqual(withoutUrls(engine.json));
    expect((await u.req("GET", `${LINKS}/${one}/full-descriptor/notarevision`)).status).not.toBe(200);
    expect((await u.req("GET", `${LINKS}/404/revisions`)).status).toBe(404);
    expect((await u.req("POST", `${LINKS}/404/engine-descriptor/latest`, { body: META })).status).toBe(404);
  });

  it("test_inputs_extra_length: inputs_extra must match inputs; absent is fine", async () => {
    const me = await user("extra");
    const z = { ...sample(me.email), name: "integ-test name in English" };
    const [first] = z.nettests;
    const withExtra = (extra: unknown) => ({ ...z, nettests: [{ ...first, inputs_extra: extra }] });
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: withExtra([{ provider: "riseupvpn" }]) })).status).toBe(400); // 422 → 400
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: withExtra([{ provider: "riseupvpn" }, { provider: "riseupvpn" }]) })).status).toBe(200);
    const { inputs_extra: _x, ...noExtra } = first;
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...z, nettests: [noExtra] } })).status).toBe(200);
  });

  it("test_link_revision_args: run_type timed/manual accepted, anything else refused", async () => {
    const me = await user("args");
    const id = (await create(me.bearer, { ...sample(me.email), name: "Testing descriptor revision" })).oonirun_link_id;
    for (const run_type of ["timed", "manual"]) {
      expect((await u.req("POST", `${LINKS}/${id}/engine-descriptor/1`, { body: { ...META, run_type } })).status).toBe(200);
    }
    expect((await u.req("POST", `${LINKS}/${id}/engine-descriptor/1`, { body: { ...META, run_type: "bad" } })).status).toBe(400); // 422 → 400
  });

  it("test_inputs_and_targets_name: inputs or targets alone are fine; together (even []) refused", async () => {
    const me = await user("targets");
    const z = { ...sample(me.email), name: "Testing no targets and inputs at the same time" };
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: z })).status).toBe(200);
    const base = { options: { HTTP3Enabled: true }, is_background_run_enabled_default: false, is_manual_run_enabled_default: false, test_name: "web_connectivity" };
    // deviation: upstream accepts any targets_name ("example_name") and fails later when a probe
    // asks; only names this backend can expand are accepted here
    const targets = "websites_list_prioritized";
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...z, nettests: [{ ...base, inputs: null, targets_name: targets, inputs_extra: null }] } })).status).toBe(200);
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...z, nettests: [{ ...base, inputs: ["https://example.com/"], targets_name: targets, inputs_extra: null }] } })).status).toBe(400); // 422 → 400
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...z, nettests: [{ ...base, targets_name: targets, inputs_extra: [{}, {}] }] } })).status).toBe(400); // 422 → 400
    expect((await u.req("POST", LINKS, { bearer: me.bearer, body: { ...z, nettests: [{ ...base, targets_name: targets, inputs_extra: [], inputs: [] }] } })).status).toBe(400); // 422 → 400
  });

  it("test_creation_with_targets_name / test_dynamic_test_lists_calculation: targets_name is kept, editable, and expanded", async () => {
    const me = await user("dynamic");
    const z = { ...sample(me.email), name: "Testing dynamic test lists calculation" };
    z.nettests = [{ ...z.nettests[0], inputs: null, targets_name: "websites_list_prioritized" }];
    const id = (await create(me.bearer, z)).oonirun_link_id;
    expect((await u.req("GET", `${LINKS}/${id}`, { bearer: me.bearer })).json.nettests[0].targets_name).toBe("websites_list_prioritized");
    // deviation: upstream lets the edit set an unknown targets_name ("new_value"); here that is a 400
    const edit = await u.req("PUT", `${LINKS}/${id}`, { bearer: me.bearer, body: { ...z, nettests: [{ ...z.nettests[0], targets_name: "new_value" }] } });
    expect(edit.status).toBe(400);
    const engine = await u.req("POST", `${LINKS}/${id}/engine-descriptor/latest`, { bearer: me.bearer, body: META });
    expect(engine.status).toBe(200);
    expect(engine.json.nettests[0].targets_name).toBe("websites_list_prioritized");
  });

  it("test_x_user_agent_header_parsing: with or without a probe User-Agent the descriptor is served", async () => {
    const me = await user("ua");
    const id = (await create(me.bearer, { ...sample(me.email), name: "Testing header parsing" })).oonirun_link_id;
    const good = { UserAgent: "ooniprobe-android-unattended,3.8.2,android,ooniprobe-engine,3.17.2,ooniprobe-engine_1.2.3" };
    expect((await u.req("POST", `${LINKS}/${id}/engine-descriptor/latest`, { headers: good, body: META })).status).toBe(200);
    expect((await u.req("POST", `${LINKS}/${id}/engine-descriptor/latest`, { body: META })).status).toBe(200);
    // deviation: upstream answers 422 to a malformed UserAgent header; it is ignored here (docs/write-apis.md)
    const bad = { UserAgent: "ooniprobe-android-unattended,3.8.2,android,ooniprobe-engine,3.17.2" };
    expect((await u.req("POST", `${LINKS}/${id}/engine-descriptor/latest`, { headers: bad, body: META })).status).toBe(200);
  });

  it("test_network_type_validation: every probe network type is accepted", async () => {
    const me = await user("nettype");
    const z = { ...sample(me.email), name: "Testing dynamic test lists calculation" };
    z.nettests = [{ ...z.nettests[0], inputs: null, targets_name: "websites_list_prioritized" }];
    const id = (await create(me.bearer, z)).oonirun_link_id;
    for (const network_type of ["vpn", "wifi", "mobile", "wired_ethernet", "no_internet", "unknown"]) {
      expect((await u.req("POST", `${LINKS}/${id}/engine-descriptor/latest`, { bearer: me.bearer, body: { ...META, network_type } })).status, network_type).toBe(200);
    }
    // deviation: upstream refuses a network type outside its list (422); any short word is accepted here
    expect((await u.req("POST", `${LINKS}/${id}/engine-descriptor/latest`, { bearer: me.bearer, body: { ...META, network_type: "bad" } })).status).toBe(200);
  });
});
