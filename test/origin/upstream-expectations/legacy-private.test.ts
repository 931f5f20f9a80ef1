import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daysAgo, insertCitizenlab, insertMsmts, type Msmt } from "../stats/fixtures";
import { startUpstream, type Upstream } from "./support";

// ooni/backend api/tests/integ/test_private_api.py (the legacy Flask API's /api/_/ statistics that
// Explorer draws, 32d8349d), as our tests. Upstream runs them on a production-data fixture and so
// asserts sizes ("more than 50 networks", "CA has more than 100"); the rows below are made to be
// that large, in the last 30 days, so the same thresholds hold. Each upstream test is one `it`;
// those skipped upstream as "not deterministic" get the expectation their body states, on our rows.

let u: Upstream;
const TESTS = ["web_connectivity", "facebook_messenger", "psiphon", "tor", "ndt", "dnscheck", "vanilla_tor", "signal"];
const BR_ASNS = 12;

// BR: 1001 measurements; each group of 12 (one per network) shares a day of the last 30 and a test
const BR: Msmt[] = Array.from({ length: 1001 }, (_, i) => ({
  t: daysAgo(1 + (Math.floor(i / BR_ASNS) % 30)),
  cc: "BR",
  asn: 1000 + (i % BR_ASNS),
  test: TESTS[Math.floor(i / BR_ASNS) % TESTS.length],
  input: TESTS[Math.floor(i / BR_ASNS) % TESTS.length] === "web_connectivity" ? "https://www.facebook.com/" : undefined,
  runtime: 5 + (i % 7),
}));
const ROWS: Msmt[] = [
  ...BR,
  // CA: 101 measurements on one network, the busiest network overall
  ...Array.from({ length: 101 }, () => ({ t: daysAgo(3), cc: "CA", asn: 812, input: "https://twitter.com/" })),
  // GB every day (two countries in every month), 40 more single-measurement networks in IT
  ...Array.from({ length: 30 }, (_, i) => ({ t: daysAgo(1 + i), cc: "GB", asn: 2856, input: "http://ncac.org/" })),
  ...Array.from({ length: 40 }, (_, i) => ({ t: daysAgo(2), cc: "IT", asn: 2000 + i, test: "psiphon", runtime: 3 })),
  // CH AS3303: facebook_messenger
  { t: daysAgo(4), cc: "CH", asn: 3303, test: "facebook_messenger" },
  // circumvention tools in four more countries
  ...["IR", "RU", "CN", "TR"].map((cc, i) => ({ t: daysAgo(2), cc, asn: 3000 + i, test: "torsf", runtime: 100 + i })),
];

beforeAll(async () => {
  u = await startUpstream();
  const db = u.origin.services.db;
  await db.client.command({ query: "TRUNCATE TABLE citizenlab" });
  await insertMsmts(db, ROWS);
  await insertCitizenlab(db, [
    { url: "https://www.facebook.com/", cc: "ZZ", category_code: "GRP" },
    { url: "https://facebook.com/", cc: "br", category_code: "GRP" },
    { url: "https://twitter.com/", cc: "ZZ", category_code: "GRP" },
    { url: "http://ncac.org/", cc: "ZZ", category_code: "NEWS" },
    { url: "https://one.example/", cc: "ZZ", category_code: "HUMR" },
    { url: "https://two.example/", cc: "ZZ", category_code: "POLR" },
    { url: "https://three.example/", cc: "br", category_code: "LGBT" },
  ]);
});
afterAll(async () => {
  await u?.close();
});

const privapi = async (sub: string) => {
  const r = await u.req("GET", `/api/_/${sub}`);
  expect(r.status, `${sub}: ${r.text}`).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  return r.json;
};

describe("legacy private API (api/tests/integ/test_private_api.py)", () => {
  it("test_private_api_asn_by_month", async () => {
    const j = await privapi("asn_by_month");
    expect(j.length).toBeGreaterThan(0);
    expect(Object.keys(j[0]).sort()).toEqual(["date", "value"]);
    expect(j[0].value).toBeGreaterThan(10);
    expect(j[0].value).toBeLessThan(10 ** 6);
    expect(j[0].date).toMatch(/T00:00:00\+00:00$/);
  });

  it("test_private_api_countries_by_month", async () => {
    const j = await privapi("countries_by_month");
    expect(j.length).toBeGreaterThan(0);
    expect(Object.keys(j[0]).sort()).toEqual(["date", "value"]);
    expect(j[0].value).toBeGreaterThan(1);
    expect(j[0].value).toBeLessThan(1000);
    expect(j[0].date).toMatch(/T00:00:00\+00:00$/);
  });

  it("test_private_api_test_names: the fixed list", async () => {
    const names: [string, string][] = [
      ["bridge_reachability", "Bridge Reachability"],
      ["dash", "DASH"],
      ["dns_consistency", "DNS Consistency"],
      ["dnscheck", "DNS Check"],
      ["facebook_messenger", "Facebook Messenger"],
      ["http_header_field_manipulation", "HTTP Header Field Manipulation"],
      ["http_host", "HTTP Host"],
      ["http_invalid_request_line", "HTTP Invalid Request Line"],
      ["http_requests", "HTTP Requests"],
      ["meek_fronted_requests_test", "Meek Fronted Requests"],
      ["multi_protocol_traceroute", "Multi Protocol Traceroute"],
      ["ndt", "NDT"],
      ["psiphon", "Psiphon"],
      ["riseupvpn", "RiseupVPN"],
      ["signal", "Signal"],
      ["stunreachability", "STUN Reachability"],
      ["tcp_connect", "TCP Connect"],
      ["telegram", "Telegram"],
      ["tor", "Tor"],
      ["torsf", "Tor Snowflake"],
      ["urlgetter", "URL Getter"],
      ["vanilla_tor", "Vanilla Tor"],
      ["web_connectivity", "Web Connectivity"],
      ["whatsapp", "WhatsApp"],
    ];
    expect(await privapi("test_names")).toEqual({ test_names: names.map(([id, name]) => ({ id, name })) });
  });

  it("test_private_api_countries_total", async () => {
    const j = await privapi("countries");
    expect(j.countries.length).toBeGreaterThanOrEqual(7); // upstream ≥ 20 on production data; we have 7 countries
    const ca = j.countries.find((x: { alpha_2: string }) => x.alpha_2 === "CA");
    expect(ca.count).toBeGreaterThan(100);
    expect(ca.name).toBe("Canada");
  });

  it("test_private_api_test_coverage: a row per test group and day, a row per day of networks", async () => {
    const j = await privapi("test_coverage?probe_cc=BR");
    expect(j.test_coverage.length).toBeGreaterThan(190);
    expect(j.test_coverage.length).toBeLessThan(220);
    expect(j.network_coverage.length).toBeGreaterThan(27);
    expect(j.network_coverage.length).toBeLessThan(32);
    expect(Object.keys(j.test_coverage[0]).sort()).toEqual(["count", "test_day", "test_group"]);
    expect(Object.keys(j.network_coverage[0]).sort()).toEqual(["count", "test_day"]);
  });

  it("test_private_api_test_coverage_with_groups", async () => {
    const j = await privapi("test_coverage?probe_cc=BR&test_groups=websites");
    expect(j.test_coverage.length).toBeGreaterThan(10);
    expect(Object.keys(j.test_coverage[0]).sort()).toEqual(["count", "test_day", "test_group"]);
    expect(j.network_coverage.length).toBeGreaterThan(27);
    expect(j.network_coverage.length).toBeLessThan(32);
  });

  it.each([
    ["facebook.com", "GRP", "www.facebook.com"],
    ["www.facebook.com", "GRP", "www.facebook.com"],
    ["www.twitter.com", "GRP", "twitter.com"],
    ["www.this-domain-is-not-in-the-test-lists-for-sure.com", "MISC", "this-domain-is-not-in-the-test-lists-for-sure.com"],
  ])("test_private_api_domain_metadata1–4: %s", async (domain, category_code, canonical_domain) => {
    expect(await privapi(`domain_metadata?domain=${domain}`)).toEqual({ category_code, canonical_domain });
  });

  it("test_private_api_website_networks (skipped upstream): networks with web_connectivity results", async () => {
    const j = await privapi("website_networks?probe_cc=BR");
    expect(j.results.length).toBe(BR_ASNS);
  });

  it("test_private_api_website_stats (skipped upstream): daily counts with the upstream keys", async () => {
    const j = await privapi("website_stats?probe_cc=BR&probe_asn=1000&input=https:%2F%2Fwww.facebook.com%2F");
    expect(j.results.length).toBeGreaterThan(2);
    expect(Object.keys(j.results[0]).sort()).toEqual(["anomaly_count", "confirmed_count", "failure_count", "test_day", "total_count"]);
  });

  it("test_private_api_website_urls (skipped upstream): paging metadata; next_url while a page is full", async () => {
    const page = async (q: string) => {
      const r = await u.req("GET", `/api/_/website_urls?${q}`);
      expect(r.status, r.text).toBe(200);
      return r.json;
    };
    const first = await page("probe_cc=GB&probe_asn=2856&limit=1");
    const { total_count, next_url, ...meta } = first.metadata;
    expect(total_count).toBe(1);
    expect(meta).toEqual({ current_page: 1, limit: 1, offset: 0 });
    // as upstream: a full page names the next one (parameters sorted); the host is the one asked
    expect(next_url).toMatch(/^https?:\/\/[^/]+\/api\/_\/website_urls\?limit=1&offset=1&probe_asn=2856&probe_cc=GB$/);
    expect(first.results).toHaveLength(1);
    const second = await page("probe_cc=GB&probe_asn=2856&limit=1&offset=1");
    expect(second.results).toEqual([]);
    expect(second.metadata).toMatchObject({ current_page: 2, next_url: null, total_count: 1 });
  });

  it("test_private_api_vanilla_tor_stats", async () => {
    const j = await privapi("vanilla_tor_stats?probe_cc=BR");
    expect(j.notok_networks).toBeGreaterThanOrEqual(0);
    expect(j.networks.length).toBeGreaterThan(10);
    expect(Object.keys(j.networks[0]).sort()).toEqual([
      "failure_count",
      "last_tested",
      "probe_asn",
      "success_count",
      "test_runtime_avg",
      "test_runtime_max",
      "test_runtime_min",
      "total_count",
    ]);
    expect(j.last_tested).toMatch(/^20/);
  });

  it("test_private_api_vanilla_tor_stats_empty", async () => {
    expect(await privapi("vanilla_tor_stats?probe_cc=XY")).toEqual({ networks: [], notok_networks: 0, last_tested: null });
  });

  it("test_private_api_im_networks", async () => {
    const j = await privapi("im_networks?probe_cc=BR");
    expect(j.facebook_messenger.ok_networks.length).toBeGreaterThan(5);
  });

  it("test_private_api_im_stats_basic / im_stats: days with anomaly_count null and a 25-character day", async () => {
    const j = await privapi("im_stats?probe_cc=CH&probe_asn=3303&test_name=facebook_messenger");
    expect(j.results.length).toBeGreaterThan(20);
    expect(j.results.length).toBeLessThan(34);
    expect(j.results[0].total_count).toBeGreaterThan(-1);
    expect(j.results[0].anomaly_count).toBeNull();
    expect(j.results[0].test_day).toHaveLength(25);
    expect(j.results.reduce((s: number, x: { total_count: number }) => s + x.total_count, 0)).toBe(1);
  });

  it("test_private_api_network_stats: not implemented upstream either, an empty page", async () => {
    expect(await privapi("network_stats?probe_cc=GB")).toEqual({
      metadata: { current_page: 1, limit: 10, next_url: null, offset: 0, total_count: 0 },
      results: [],
    });
  });

  it("test_private_api_country_overview", async () => {
    const j = await privapi("country_overview?probe_cc=BR");
    expect(j.first_bucket_date).toMatch(/^20/);
    expect(j.measurement_count).toBeGreaterThan(1000);
    expect(j.network_count).toBeGreaterThan(10);
  });

  it("test_private_api_global_overview", async () => {
    const j = await privapi("global_overview");
    for (const k of ["country_count", "measurement_count", "network_count"]) expect(j).toHaveProperty(k);
  });

  it("test_private_api_global_overview_by_month", async () => {
    const j = await privapi("global_overview_by_month");
    for (const k of ["networks_by_month", "countries_by_month", "measurements_by_month"]) {
      expect(Object.keys(j[k][0]).sort(), k).toEqual(["date", "value"]);
    }
    expect(j.networks_by_month[0].date).toMatch(/T00:00:00\+00:00$/);
  });

  it("test_private_api_check_report_id / check_bogus_report_id_is_found: always found", async () => {
    expect(await privapi("check_report_id?report_id=20210709T004340Z_webconnectivity_MY_4818_n1_YCM7J9mGcEHds2K3")).toEqual({ v: 0, found: true });
    expect(await privapi("check_report_id?report_id=BOGUS_REPORT_ID")).toEqual({ v: 0, found: true });
  });

  it("test_private_api_circumvention_stats_by_country (skipped upstream: fresh data)", async () => {
    const j = await privapi("circumvention_stats_by_country");
    expect(j.v).toBe(0);
    expect(j.results.length).toBeGreaterThan(3);
  });

  it("test_private_api_circumvention_runtime_stats (skipped upstream: fresh data)", async () => {
    const j = await privapi("circumvention_runtime_stats");
    expect(j.v).toBe(0);
    expect(j).not.toHaveProperty("error");
    expect(j.results.length).toBeGreaterThan(3);
  });

  it("test_private_api_ansmeta: an unknown network", async () => {
    expect(await privapi("asnmeta?asn=0")).toEqual({ org_name: "Unknown" });
  });

  it("test_private_api_networks: busiest first, org_name empty when unknown", async () => {
    const j = await privapi("networks");
    expect(j.v).toBe(0);
    expect(j.results.length).toBeGreaterThan(50);
    expect(j.results[0]).toEqual({ cnt: 101, org_name: "", probe_asn: 812 });
  });

  it("test_private_api_domains", async () => {
    const j = await privapi("domains");
    expect(j.v).toBe(0);
    expect(j.results.length).toBeGreaterThan(5);
    expect(Object.keys(j.results[0]).sort()).toEqual(["category_code", "domain_name", "measurement_count"]);
    const d = Object.fromEntries(j.results.map((x: { domain_name: string; category_code: string }) => [x.domain_name, x.category_code]));
    expect(d["facebook.com"]).toBe("GRP");
    expect(d["ncac.org"]).toBe("NEWS");
    expect(d["twitter.com"]).toBe("GRP");
  });

  it("test_private_check_in_basic: the experimental /api/_/check-in is not offered", async () => {
    // deviation (docs/compat.md): no probe calls it; probes check in at /api/v1/check-in (probe.test.ts)
    const r = await u.req("POST", "/api/_/check-in", { body: { probe_cc: "US", probe_asn: "AS1234", on_wifi: true, charging: false } });
    expect(r.status).toBe(404);
    expect(typeof r.json.error).toBe("string");
  });
});
