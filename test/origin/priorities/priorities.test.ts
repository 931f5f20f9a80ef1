import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { ADMIN, call, loginAll, type Bearers, type CallOptions, type Fetcher } from "../oonirun/support";

// Prioritization management through the real app in this process (embedded chDB with the fixture
// IT/US test list), logged in through the outbox. The measurement counts that weigh URLs are put
// straight into counters_asn_test_list, as the fastpath's materialized view would.

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
const LIST = "/api/_/url-priorities/list";
const UPDATE = "/api/_/url-priorities/update";
const update = (bearer: string | undefined, body: unknown) => req("POST", UPDATE, { bearer, body });
const rules = async () => {
  const r = await req("GET", LIST, { bearer: who.admin });
  expect(r.status).toBe(200);
  return r.json.rules as Record<string, unknown>[];
};
const NEWS = { category_code: "NEWS", cc: "*", domain: "*", url: "*", priority: 20 };
const US = { category_code: "*", cc: "US", domain: "*", url: "*", priority: -200 };

describe("authorization", () => {
  it("list and update: anonymous 401, users 403, admins 200", async () => {
    expect((await req("GET", LIST)).status).toBe(401);
    expect((await update(undefined, { new_entry: NEWS })).status).toBe(401);
    for (const bearer of [who.owner, who.other]) {
      const l = await req("GET", LIST, { bearer });
      expect(l.status).toBe(403);
      expect(l.json).toEqual({ error: "Role not authorized" });
      expect((await update(bearer, { new_entry: NEWS })).status).toBe(403);
    }
    expect(await rules()).toEqual([]);
  });

  it("debug_prioritization and show_countries_prioritization are public", async () => {
    for (const bearer of [undefined, who.owner, who.admin]) {
      expect((await req("GET", "/api/_/debug_prioritization?probe_cc=IT", { bearer })).status).toBe(200);
      expect((await req("GET", "/api/_/show_countries_prioritization", { bearer })).status).toBe(200);
    }
  });
});

describe("rules: add, change, delete (CollapsingMergeTree)", () => {
  // No background merge may collapse anything here: what the reads show comes from FINAL alone.
  beforeAll(async () => {
    await origin.services.db.client.command({ query: "SYSTEM STOP MERGES url_priorities" });
  });
  afterAll(async () => {
    await origin.services.db.client.command({ query: "SYSTEM START MERGES url_priorities" });
  });

  it("an added rule is listed at once; a duplicate is refused", async () => {
    const r = await update(who.admin, { new_entry: { category_code: "news", priority: 20 } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toBe(1);
    expect(await rules()).toEqual([NEWS]);
    const dup = await update(who.admin, { new_entry: { ...NEWS, priority: 99 } });
    expect(dup.status).toBe(409);
    expect(dup.json.error).toMatch(/already exists/);
  });

  it("a change needs the current rule as old_entry; the replacement is listed at once", async () => {
    const stale = await update(who.admin, { old_entry: { ...NEWS, priority: 21 }, new_entry: { ...NEWS, priority: 30 } });
    expect(stale.status).toBe(409);
    expect(stale.json.error).toMatch(/old_entry/);
    expect(await rules()).toEqual([NEWS]);

    expect((await update(who.admin, { old_entry: NEWS, new_entry: { ...NEWS, priority: 30 } })).status).toBe(200);
    expect(await rules()).toEqual([{ ...NEWS, priority: 30 }]);
    expect((await update(who.admin, { old_entry: { ...NEWS, priority: 30 }, new_entry: NEWS })).status).toBe(200);
    expect(await rules()).toEqual([NEWS]);
    // The table holds +1, -1, +1, -1, +1 rows; FINAL collapses the pairs when reading.
    const [raw] = await queryRows<{ n: number }>(origin.services.db, "SELECT count() AS n FROM url_priorities WHERE category_code = 'NEWS'");
    expect(Number(raw!.n)).toBe(5);
  });

  it("delete with old_entry alone; deleting again is a conflict", async () => {
    expect((await update(who.admin, { new_entry: { category_code: "GMB", priority: -5 } })).status).toBe(200);
    expect((await rules()).map((x) => x.category_code)).toEqual(["GMB", "NEWS"]);
    expect((await update(who.admin, { old_entry: { category_code: "GMB", cc: "", priority: -5 } })).status).toBe(200);
    expect(await rules()).toEqual([NEWS]);
    expect((await update(who.admin, { old_entry: { category_code: "GMB", priority: -5 } })).status).toBe(409);
  });

  it("a rule added twice by two racing origins is still deleted by one delete", async () => {
    const HUMR = { category_code: "HUMR", cc: "*", domain: "*", url: "*", priority: 40 };
    expect((await update(who.admin, { new_entry: HUMR })).status).toBe(200);
    // What another origin adding the same rule at the same instant would have left: a second +1.
    await origin.services.db.client.insert({ table: "url_priorities", values: [{ ...HUMR, sign: 1 }], format: "JSONEachRow" });
    expect((await rules()).filter((x) => x.category_code === "HUMR")).toHaveLength(1);
    expect((await update(who.admin, { old_entry: HUMR })).status).toBe(200);
    expect((await rules()).filter((x) => x.category_code === "HUMR")).toEqual([]);
    // A stray cancellation (two racing deletes) does not hide the rule when it is added again.
    await origin.services.db.client.insert({ table: "url_priorities", values: [{ ...HUMR, sign: -1 }], format: "JSONEachRow" });
    expect((await update(who.admin, { new_entry: HUMR })).status).toBe(200);
    expect((await rules()).filter((x) => x.category_code === "HUMR")).toEqual([HUMR]);
    expect((await update(who.admin, { old_entry: HUMR })).status).toBe(200);
    expect((await rules()).filter((x) => x.category_code === "HUMR")).toEqual([]);
  });

  it("bad requests are 400 naming the field", async () => {
    for (const [body, parameter] of [
      [{}, "body"],
      [{ old_entry: null, new_entry: null }, "body"],
      [{ old_entry: NEWS, new_entry: NEWS }, "body"],
      [{ new_entry: { ...NEWS, cc: "USA" } }, "new_entry.cc"],
      [{ new_entry: { ...NEWS, priority: "high" } }, "new_entry.priority"],
      [{ new_entry: { ...NEWS, url: "javascript:1" } }, "new_entry.url"],
      [{ old_entry: { ...NEWS, domain: "bad domain" } }, "old_entry.domain"],
    ] as const) {
      const r = await update(who.admin, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.parameter, JSON.stringify(body)).toBe(parameter);
    }
    expect((await req("POST", UPDATE, { bearer: who.admin, body: "[" })).status).toBe(400);
  });
});

describe("the backend-reference §8 example, end to end", () => {
  beforeAll(async () => {
    // 38 web_connectivity measurements of nytimes.com from a US network this week.
    await origin.services.db.client.command({
      query: `INSERT INTO counters_asn_test_list (week, probe_cc, probe_asn, input, msmt_cnt)
              SELECT toStartOfWeek(now()), 'US', 7922, 'https://www.nytimes.com/', 38`,
    });
    // Before the US rule: NEWS +20 keeps nytimes in the US list (weight 20/38).
    const before = await req("GET", "/api/_/debug_prioritization?probe_cc=US&probe_asn=AS7922");
    const item = (before.json.test_items as any[]).find((i) => i.url === "https://www.nytimes.com/");
    expect(item).toMatchObject({ country_code: "US", msmt_cnt: 38, priority: 20 });
    expect(item.weight).toBeCloseTo(20 / 38, 9);
    expect((await update(who.admin, { new_entry: US })).status).toBe(200);
  });

  it("debug_prioritization: priority -180, weight -4.7368…, dropped from the list", async () => {
    const r = await req("GET", "/api/_/debug_prioritization?probe_cc=US&probe_asn=AS7922");
    expect(r.status, r.text).toBe(200);
    const nyt = (r.json.entries as any[]).find((e) => e.url === "https://www.nytimes.com/");
    expect(nyt).toMatchObject({ category_code: "NEWS", cc: "us", msmt_cnt: 38, priority: -180 });
    expect(nyt.weight).toBeCloseTo(-4.7368421, 6);
    // The -200 rule applies to the US list and to global URLs seen from the US (NEWS ones get +20):
    // no URL keeps a positive priority, so none is in the list.
    expect(r.json.test_items).toEqual([]);
    expect((r.json.entries as any[]).every((e) => e.priority <= 0)).toBe(true);
    expect(r.json.entries.length).toBeGreaterThan(20);
    expect(r.json.prio_rules).toEqual(expect.arrayContaining([NEWS, US]));
    // The probes' own list changes at once (check-in's list reads the same rules): with nothing
    // prioritized it falls back to a sample of global URLs.
    const urls = await req("GET", "/api/v1/test-list/urls?country_code=US&limit=-1");
    expect(urls.json.results.length).toBeGreaterThan(0);
    expect((urls.json.results as any[]).every((i) => i.country_code === "XX")).toBe(true);
  });

  it("debug_prioritization: categories and limit apply; bad parameters are 400", async () => {
    const r = await req("GET", "/api/_/debug_prioritization?probe_cc=IT&category_codes=NEWS&limit=2");
    expect(r.json.test_items).toHaveLength(2);
    expect((r.json.test_items as any[]).every((i) => i.category_code === "NEWS" && typeof i.weight === "number")).toBe(true);
    for (const [q, parameter] of [
      ["probe_cc=USA", "probe_cc"],
      ["limit=0", "limit"],
      ["probe_asn=x", "probe_asn"],
      ["category_codes=N1", "category_codes"],
    ] as const) {
      const res = await req("GET", `/api/_/debug_prioritization?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json.parameter).toBe(parameter);
    }
  });

  it("show_countries_prioritization: every test-list URL with its priority, by country; CSV too", async () => {
    const r = await req("GET", "/api/_/show_countries_prioritization");
    const list = r.json as any[];
    const nyt = list.find((e) => e.url === "https://www.nytimes.com/");
    expect(nyt).toMatchObject({ cc: "US", category_code: "NEWS", priority: -180 });
    const it1 = list.find((e) => e.url === "https://www.repubblica.it/");
    expect(it1).toMatchObject({ cc: "IT", priority: 20 });
    const ccs = list.map((e) => e.cc as string);
    expect(ccs).toEqual([...ccs].sort());

    const csv = await req("GET", "/api/_/show_countries_prioritization?format=CSV");
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toBe("domain,url,cc,category_code,msmt_cnt,anomaly_perc,priority");
    expect(lines).toHaveLength(list.length + 1);
    expect((await req("GET", "/api/_/show_countries_prioritization?format=XML")).status).toBe(400);
  });
});
