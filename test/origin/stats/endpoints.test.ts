import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessOrigin, type InProcessOrigin } from "./in-process";
import { daysAgo, insertCitizenlab, insertMsmts, isoDay, type Msmt } from "./fixtures";

// Every /api/_/ statistics endpoint (and /api/v1/torsf_stats) against a small table whose every
// row is known. Rows sit at noon UTC a whole number of days ago, so the windows (which end at
// today's or yesterday's midnight) cut between rows, never through them.

const d = (n: number) => daysAgo(n);
const wc = "web_connectivity";
const A = "https://a.example/";
const B = "https://b.example/";

const ROWS: Msmt[] = [
  // Iran, AS100 and AS200
  { t: d(2), cc: "IR", asn: 100, input: A, anomaly: true, blocking_type: "dns" },
  { t: d(2), cc: "IR", asn: 100, input: A },
  { t: d(3), cc: "IR", asn: 100, input: A, anomaly: true, confirmed: true, blocking_type: "http-diff" },
  { t: d(5), cc: "IR", asn: 100, input: A, failure: true },
  { t: d(4), cc: "IR", asn: 100, input: "https://a.example", anomaly: true },
  { t: d(40), cc: "IR", asn: 100, input: A },
  { t: d(2), cc: "IR", asn: 200, input: B },
  { t: d(2), cc: "IR", asn: 200, input: B },
  { t: d(2), cc: "IR", asn: 200, input: B },
  { t: d(1), cc: "IR", asn: 100, test: "telegram" },
  { t: d(1), cc: "IR", asn: 100, test: "telegram" },
  { t: d(10), cc: "IR", asn: 100, test: "telegram" },
  { t: d(3), cc: "IR", asn: 200, test: "whatsapp" },
  ...[true, true, true, true, false, false].map((anomaly, i) => ({
    t: d(20),
    cc: "IR",
    asn: 100,
    test: "vanilla_tor",
    anomaly,
    failure: i === 5,
  })),
  { t: d(20), cc: "IR", asn: 200, test: "vanilla_tor", anomaly: true },
  { t: d(20), cc: "IR", asn: 200, test: "vanilla_tor", anomaly: true },
  { t: d(5), cc: "IR", asn: 100, test: "psiphon", runtime: 10 },
  // Italy, AS300 (one row from 2013, outside every rolling window)
  { t: d(2), cc: "IT", asn: 300, test: "signal" },
  { t: d(2), cc: "IT", asn: 300, test: "dnscheck" },
  { t: d(3), cc: "IT", asn: 300, input: B },
  { t: new Date("2013-05-01T10:00:00Z"), cc: "IT", asn: 300, input: B },
  // Russia, AS400: Snowflake
  { t: d(3), cc: "RU", asn: 400, test: "torsf", anomaly: true, runtime: 100 },
  { t: d(3), cc: "RU", asn: 400, test: "torsf", runtime: 200 },
  { t: d(2), cc: "RU", asn: 400, test: "torsf", failure: true, runtime: 50 },
];

let o: InProcessOrigin;

beforeAll(async () => {
  o = await startInProcessOrigin();
  const db = o.services.db;
  // The probe services may have loaded a bundled test list; these tests need to know every entry.
  await db.client.command({ query: "TRUNCATE TABLE citizenlab" });
  await insertMsmts(db, ROWS);
  await insertCitizenlab(db, [
    { url: A, cc: "ZZ", category_code: "NEWS" },
    { url: B, cc: "ZZ", category_code: "HUMR" },
    { url: B, cc: "ir", category_code: "POLR" },
    { url: "https://www.c.example/", cc: "ZZ", category_code: "COMT" },
    { url: "https://c.example/a/longer/path", cc: "it", category_code: "LGBT" },
  ]);
  await db.client.insert({
    table: "asnmeta",
    format: "JSONEachRow",
    values: [
      { asn: 100, org_name: "Old Name", cc: "IR", changed: "2020-01-01", aut_name: "OLD", source: "test" },
      { asn: 100, org_name: "New Name", cc: "IR", changed: "2023-01-01", aut_name: "NEW", source: "test" },
      { asn: 300, org_name: "Italia Net", cc: "IT", changed: "2022-01-01", aut_name: "IT", source: "test" },
    ],
  });
});

afterAll(async () => {
  await o?.close();
});

async function ok(path: string) {
  const r = await o.get(path);
  expect(r.status, r.text).toBe(200);
  return r.json;
}

/** Rows per month (YYYY-MM) over the last two years, from the fixture itself. */
function months(value: (rows: Msmt[]) => number) {
  const now = new Date();
  const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 24, 1);
  const byMonth = new Map<string, Msmt[]>();
  for (const r of ROWS) {
    if (r.t.getTime() < from) continue;
    const m = r.t.toISOString().slice(0, 7);
    byMonth.set(m, [...(byMonth.get(m) ?? []), r]);
  }
  return [...byMonth.keys()].sort().map((m) => ({ date: `${m}-01T00:00:00+00:00`, value: value(byMonth.get(m)!) }));
}
const distinct = (k: "asn" | "cc") => (rows: Msmt[]) => new Set(rows.map((r) => r[k])).size;

describe("overview", () => {
  it("global_overview counts networks, countries and measurements", async () => {
    expect(await ok("/api/_/global_overview")).toEqual({ network_count: 4, country_count: 3, measurement_count: 29 });
  });

  it("countries lists each country with its name and count", async () => {
    expect(await ok("/api/_/countries")).toEqual({
      countries: [
        { alpha_2: "IR", name: "Iran", count: 22 },
        { alpha_2: "IT", name: "Italy", count: 4 },
        { alpha_2: "RU", name: "Russia", count: 3 },
      ],
    });
  });

  it("asn_by_month and countries_by_month count distinct values per month, last 24 months", async () => {
    expect(await ok("/api/_/asn_by_month")).toEqual(months(distinct("asn")));
    expect(await ok("/api/_/countries_by_month")).toEqual(months(distinct("cc")));
  });

  it("global_overview_by_month gives the three series", async () => {
    expect(await ok("/api/_/global_overview_by_month")).toEqual({
      networks_by_month: months(distinct("asn")),
      countries_by_month: months(distinct("cc")),
      measurements_by_month: months((rows) => rows.length),
    });
  });

  it("country_overview gives the first day and totals, null without data", async () => {
    expect(await ok("/api/_/country_overview?probe_cc=IR")).toEqual({
      first_bucket_date: isoDay(d(40)),
      measurement_count: 22,
      network_count: 2,
    });
    expect(await ok("/api/_/country_overview?probe_cc=IT")).toMatchObject({ first_bucket_date: "2013-05-01", measurement_count: 4 });
    expect(await ok("/api/_/country_overview?probe_cc=FR")).toEqual({ first_bucket_date: "1970-01-01", measurement_count: 0, network_count: 0 });
  });
});

describe("test_coverage", () => {
  it("pads every test group and day, counting by group", async () => {
    const body = await ok("/api/_/test_coverage?probe_cc=IR");
    const tc = body.test_coverage as { count: number; test_day: string; test_group: string }[];
    expect(tc).toHaveLength(7 * 30);
    expect(tc[0]).toEqual({ count: 0, test_day: isoDay(d(32)), test_group: "circumvention" });
    expect(tc.at(-1)).toEqual({ count: 1, test_day: isoDay(d(3)), test_group: "websites" });
    const nonZero = Object.fromEntries(tc.filter((x) => x.count).map((x) => [`${x.test_group} ${x.test_day}`, x.count]));
    expect(nonZero).toEqual({
      [`circumvention ${isoDay(d(20))}`]: 8,
      [`circumvention ${isoDay(d(5))}`]: 1,
      [`im ${isoDay(d(10))}`]: 1,
      [`im ${isoDay(d(3))}`]: 1,
      [`websites ${isoDay(d(5))}`]: 1,
      [`websites ${isoDay(d(4))}`]: 1,
      [`websites ${isoDay(d(3))}`]: 1,
    });
  });

  it("network_coverage counts networks per day, optionally only for some test groups", async () => {
    const all = (await ok("/api/_/test_coverage?probe_cc=IR")).network_coverage as { test_day: string; count: number }[];
    expect(all).toHaveLength(30);
    expect(all[0]!.test_day).toBe(isoDay(d(31)));
    expect(all.at(-1)!.test_day).toBe(isoDay(d(2)));
    expect(Object.fromEntries(all.filter((x) => x.count).map((x) => [x.test_day, x.count]))).toEqual({
      [isoDay(d(20))]: 2,
      [isoDay(d(10))]: 1,
      [isoDay(d(5))]: 1,
      [isoDay(d(4))]: 1,
      [isoDay(d(3))]: 2,
      [isoDay(d(2))]: 2,
    });
    const im = (await ok("/api/_/test_coverage?probe_cc=IR&test_groups=im")).network_coverage as { test_day: string; count: number }[];
    expect(Object.fromEntries(im.filter((x) => x.count).map((x) => [x.test_day, x.count]))).toEqual({
      [isoDay(d(10))]: 1,
      [isoDay(d(3))]: 1,
    });
  });
});

describe("websites", () => {
  it("website_networks counts web_connectivity measurements per network, last 31 days", async () => {
    expect(await ok("/api/_/website_networks?probe_cc=IR")).toEqual({
      results: [
        { count: 5, probe_asn: 100 },
        { count: 3, probe_asn: 200 },
      ],
    });
  });

  it("website_stats gives daily counts for a URL, with and without the trailing slash", async () => {
    for (const asn of ["AS100", "100"]) {
      expect(await ok(`/api/_/website_stats?probe_cc=IR&probe_asn=${asn}&input=${encodeURIComponent(A)}`)).toEqual({
        results: [
          { test_day: isoDay(d(5)), anomaly_count: 0, confirmed_count: 0, failure_count: 1, total_count: 1 },
          { test_day: isoDay(d(4)), anomaly_count: 1, confirmed_count: 0, failure_count: 0, total_count: 1 },
          { test_day: isoDay(d(3)), anomaly_count: 1, confirmed_count: 1, failure_count: 0, total_count: 1 },
          { test_day: isoDay(d(2)), anomaly_count: 1, confirmed_count: 0, failure_count: 0, total_count: 2 },
        ],
      });
    }
  });

  it("website_urls pages through a network's URLs, most confirmed first", async () => {
    const first = await ok("/api/_/website_urls?probe_cc=IR&probe_asn=AS100&limit=1");
    expect(first).toEqual({
      metadata: {
        offset: 0,
        limit: 1,
        current_page: 1,
        total_count: 2,
        next_url: "http://localhost/api/_/website_urls?limit=1&offset=1&probe_asn=100&probe_cc=IR",
      },
      results: [{ input: A, anomaly_count: 2, confirmed_count: 1, failure_count: 1, total_count: 4 }],
    });
    const second = await ok("/api/_/website_urls?probe_cc=IR&probe_asn=AS100&limit=1&offset=1");
    expect(second.metadata.current_page).toBe(2);
    expect(second.results).toEqual([
      { input: "https://a.example", anomaly_count: 1, confirmed_count: 0, failure_count: 0, total_count: 1 },
    ]);
    const all = await ok("/api/_/website_urls?probe_cc=IR&probe_asn=100");
    expect(all.metadata).toMatchObject({ limit: 10, total_count: 2, next_url: null });
    expect(all.results).toHaveLength(2);
  });

  it("domain_metadata prefers the global list and knows www.", async () => {
    expect(await ok("/api/_/domain_metadata?domain=a.example")).toEqual({ category_code: "NEWS", canonical_domain: "a.example" });
    expect(await ok("/api/_/domain_metadata?domain=www.a.example")).toEqual({ category_code: "NEWS", canonical_domain: "a.example" });
    expect(await ok("/api/_/domain_metadata?domain=c.example")).toEqual({ category_code: "COMT", canonical_domain: "www.c.example" });
    expect(await ok("/api/_/domain_metadata?domain=b.example")).toEqual({ category_code: "HUMR", canonical_domain: "b.example" });
    expect(await ok("/api/_/domain_metadata?domain=unlisted.example")).toEqual({
      category_code: "MISC",
      canonical_domain: "unlisted.example",
    });
  });

  it("domains lists test-list domains with their web_connectivity counts", async () => {
    expect(await ok("/api/_/domains")).toEqual({
      v: 0,
      results: [
        { domain_name: "a.example", category_code: "NEWS", measurement_count: 6 },
        { domain_name: "b.example", category_code: "HUMR", measurement_count: 5 },
        { domain_name: "c.example", category_code: "LGBT", measurement_count: 0 },
        { domain_name: "www.c.example", category_code: "COMT", measurement_count: 0 },
      ],
    });
  });
});

describe("instant messaging", () => {
  it("im_networks groups networks by IM test", async () => {
    expect(await ok("/api/_/im_networks?probe_cc=IR")).toEqual({
      telegram: {
        anomaly_networks: [],
        ok_networks: [{ asn: 100, name: "", total_count: 3, last_tested: isoDay(d(1)) }],
        last_tested: isoDay(d(1)),
      },
      whatsapp: {
        anomaly_networks: [],
        ok_networks: [{ asn: 200, name: "", total_count: 1, last_tested: isoDay(d(3)) }],
        last_tested: isoDay(d(3)),
      },
    });
  });

  it("im_stats gives 32 zero-filled days ending today", async () => {
    const { results } = await ok("/api/_/im_stats?probe_cc=IR&probe_asn=AS100&test_name=telegram");
    expect(results).toHaveLength(32);
    expect(results[0]).toEqual({ anomaly_count: null, test_day: `${isoDay(d(31))}T00:00:00+00:00`, total_count: 0 });
    expect(results.at(-1)).toEqual({ anomaly_count: null, test_day: `${isoDay(d(0))}T00:00:00+00:00`, total_count: 0 });
    const counts = Object.fromEntries(
      (results as { test_day: string; total_count: number }[]).filter((x) => x.total_count).map((x) => [x.test_day.slice(0, 10), x.total_count]),
    );
    expect(counts).toEqual({ [isoDay(d(10))]: 1, [isoDay(d(1))]: 2 });
  });
});

describe("circumvention", () => {
  it("vanilla_tor_stats counts vanilla_tor results per network and flags the blocked ones", async () => {
    const lt = isoDay(d(20));
    const nulls = { test_runtime_avg: null, test_runtime_max: null, test_runtime_min: null };
    expect(await ok("/api/_/vanilla_tor_stats?probe_cc=IR")).toEqual({
      networks: [
        { failure_count: 1, last_tested: lt, probe_asn: 100, total_count: 6, success_count: 2, ...nulls },
        { failure_count: 0, last_tested: lt, probe_asn: 200, total_count: 2, success_count: 0, ...nulls },
      ],
      // AS200 has too few measurements (≤ 5) to be judged
      notok_networks: 1,
      last_tested: lt,
    });
    expect(await ok("/api/_/vanilla_tor_stats?probe_cc=IT")).toEqual({ networks: [], notok_networks: 0, last_tested: null });
  });

  it("circumvention_stats_by_country counts tool measurements per country", async () => {
    expect(await ok("/api/_/circumvention_stats_by_country")).toEqual({
      v: 0,
      results: [
        { probe_cc: "IR", cnt: 1 },
        { probe_cc: "RU", cnt: 3 },
      ],
    });
  });

  it("circumvention_runtime_stats pivots runtime percentiles over test × country × date", async () => {
    const { v, results } = await ok("/api/_/circumvention_runtime_stats");
    expect(v).toBe(0);
    const [d5, d3, d2] = [isoDay(d(5)), isoDay(d(3)), isoDay(d(2))];
    const cells = Object.fromEntries((results as { test_name: string; probe_cc: string; date: string; v: number[] }[]).map((r) => [`${r.test_name} ${r.probe_cc} ${r.date}`, r.v]));
    expect(results).toHaveLength(2 * 2 * 3);
    expect(cells[`psiphon IR ${d5}`]).toEqual([10, 10, 1]);
    expect(cells[`torsf RU ${d3}`]).toEqual([150, 190, 2]);
    expect(cells[`torsf RU ${d2}`]).toEqual([50, 50, 1]);
    expect(cells[`torsf IR ${d3}`]).toEqual([]);
    expect(results[0]).toMatchObject({ test_name: "psiphon", probe_cc: "IR", date: d5 });
  });

  it("torsf_stats gives daily Snowflake counts with the anomaly rate", async () => {
    const row = (n: number, anomaly: number, failure: number, count: number) => ({
      measurement_start_day: isoDay(d(n)),
      probe_cc: "RU",
      anomaly_count: anomaly,
      confirmed_count: 0,
      failure_count: failure,
      measurement_count: count,
      anomaly_rate: anomaly / count,
    });
    expect(await ok("/api/v1/torsf_stats?probe_cc=RU")).toEqual({ v: 0, result: [row(3, 1, 0, 2), row(2, 0, 1, 1)] });
    // since is exclusive, until inclusive
    const since = d(3).toISOString();
    expect(await ok(`/api/v1/torsf_stats?since=${since}`)).toEqual({ v: 0, result: [row(2, 0, 1, 1)] });
    expect(await ok(`/api/v1/torsf_stats?until=${since}`)).toEqual({ v: 0, result: [row(3, 1, 0, 2)] });
  });
});

describe("networks and small answers", () => {
  it("asnmeta gives the latest organisation name, or Unknown", async () => {
    expect(await ok("/api/_/asnmeta?asn=100")).toEqual({ org_name: "New Name" });
    expect(await ok("/api/_/asnmeta?asn=999")).toEqual({ org_name: "Unknown" });
  });

  it("networks lists every measured network with its count and name", async () => {
    expect(await ok("/api/_/networks")).toEqual({
      v: 0,
      results: [
        { probe_asn: 100, cnt: 16, org_name: "New Name" },
        { probe_asn: 200, cnt: 6, org_name: "" },
        { probe_asn: 300, cnt: 4, org_name: "Italia Net" },
        { probe_asn: 400, cnt: 3, org_name: "" },
      ],
    });
  });

  it("network_stats is an empty page, test_names and check_report_id are fixed", async () => {
    expect(await ok("/api/_/network_stats?probe_cc=IR")).toEqual({
      metadata: { current_page: 1, limit: 10, next_url: null, offset: 0, total_count: 0 },
      results: [],
    });
    const names = (await ok("/api/_/test_names")).test_names;
    expect(names).toHaveLength(24);
    expect(names).toContainEqual({ id: "torsf", name: "Tor Snowflake" });
    expect(await ok("/api/_/check_report_id?report_id=20240101T000000Z_webconnectivity_IT_30722_n1_x")).toEqual({ v: 0, found: true });
  });
});

describe("parameters, caching and time limits", () => {
  it.each([
    ["/api/_/country_overview", "probe_cc"],
    ["/api/_/country_overview?probe_cc=ir", "probe_cc"],
    ["/api/_/test_coverage?probe_cc=IR&test_groups=websites,nosuchgroup", "test_groups"],
    ["/api/_/website_networks?probe_cc=IRN", "probe_cc"],
    [`/api/_/website_stats?probe_cc=IR&input=${encodeURIComponent(A)}`, "probe_asn"],
    [`/api/_/website_stats?probe_cc=IR&probe_asn=ASX&input=${encodeURIComponent(A)}`, "probe_asn"],
    ["/api/_/website_stats?probe_cc=IR&probe_asn=100", "input"],
    ["/api/_/website_urls?probe_cc=IR&probe_asn=100&limit=ten", "limit"],
    ["/api/_/website_urls?probe_cc=IR&probe_asn=100&offset=-1", "offset"],
    ["/api/_/im_stats?probe_cc=IR&probe_asn=100&test_name=web_connectivity", "test_name"],
    ["/api/_/vanilla_tor_stats", "probe_cc"],
    ["/api/_/domain_metadata?domain=not_a_domain", "domain"],
    ["/api/_/domain_metadata", "domain"],
    ["/api/_/asnmeta?asn=AS100", "asn"],
    ["/api/_/asnmeta?asn=99999999999", "asn"],
    ["/api/_/network_stats?probe_cc=1", "probe_cc"],
    ["/api/v1/torsf_stats?probe_cc=Russia", "probe_cc"],
    ["/api/v1/torsf_stats?since=yesterday", "since"],
    ["/api/v1/torsf_stats?since=2024-02-01&until=2024-01-01", "until"],
  ])("%s → 400 naming %s", async (path, parameter) => {
    const r = await o.get(path);
    expect(r.status, r.text).toBe(400);
    expect(r.json).toMatchObject({ parameter });
    expect(r.json.error).toContain(parameter);
    expect(r.headers.get("cache-control")).toBe("no-store");
  });

  it("rolling summaries carry their lifetime and an ETag; If-None-Match gets a 304", async () => {
    const r = await o.get("/api/_/global_overview");
    expect(r.headers.get("cache-control")).toBe("public, max-age=86400");
    const etag = r.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await o.get("/api/_/global_overview", { "If-None-Match": etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    // endpoints the legacy API did not cache get the short lifetime
    const recent = await o.get("/api/_/website_networks?probe_cc=IR");
    expect(recent.headers.get("cache-control")).toBe("public, max-age=300");
    expect((await o.get("/api/_/asnmeta?asn=100")).headers.get("cache-control")).toBe("public, max-age=7200");
  });

  it("a query over its time limit is a 504 JSON error, never cached", async () => {
    const strict = o.withConfig((c) => ({ ...c, explorer: { ...c.explorer, queryTimeoutS: 0.000001 } }));
    for (const path of ["/api/_/global_overview", "/api/_/website_urls?probe_cc=IR&probe_asn=100", "/api/v1/torsf_stats"]) {
      const r = await strict.get(path);
      expect(r.status, path).toBe(504);
      expect(r.json).toMatchObject({ limit_s: 0.000001 });
      expect(r.json.error).toMatch(/too long/);
      expect(r.headers.get("cache-control")).toBe("no-store");
    }
    // the limit applies per query: the normal app still answers
    expect((await o.get("/api/_/global_overview")).status).toBe(200);
  });
});
