import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type Upstream } from "./support";

// ooni/backend api/tests/integ/test_probe_services.py and test_probe_services_nodb.py (the legacy
// Flask API's probe services, 32d8349d), as our tests. Where the FastAPI suite asks the same
// (check_in_basic, url_category_news, check_in_geoip, test_helpers, collector_open_report,
// upload_msmt_bogus, upload_msmt_valid, _valid_zstd) the expectation is in probe.test.ts and not
// repeated. Lists, addresses and helpers come from our fixtures (origin/fixtures/*), not
// upstream's /etc/ooni files.

const EDGE_SECRET = "edge-secret-for-legacy-probe-tests-01234";
let u: Upstream;
beforeAll(async () => {
  // BASE_URL: the collectors list names this host ({base_url} in services.json)
  u = await startUpstream({ EDGE_SHARED_SECRET: EDGE_SECRET, BASE_URL: "https://api.example.org" });
});
afterAll(async () => {
  await u?.close();
});

const ok = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
  const r = await u.req(method, p, { body, headers });
  expect(r.status, `${p}: ${r.text}`).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  return r.json;
};
const PWD = "HLdywVhzVCNqLvHCfmnMhIXqGmUFMTuYjmuGZhNlRTeIyvxeQTnjVJsiRkutHCSw";
const register = () =>
  ok("POST", "/api/v1/register", {
    password: PWD,
    platform: "miniooni",
    probe_asn: "AS0",
    probe_cc: "ZZ",
    software_name: "miniooni",
    software_version: "0.1.0-dev",
    supported_tests: ["web_connectivity"],
  });

describe("legacy probe services", () => {
  it("test_index: no welcome page", async () => {
    // deviation (docs/compat.md): upstream's legacy API answers GET / with a "Welcome to" HTML page;
    // no client reads it, and / here is a 404 JSON error like any unknown path
    const r = await u.req("GET", "/");
    expect(r.status).toBe(404);
    expect(typeof r.json.error).toBe("string");
  });

  it("test_check_in_url_category_multi: several categories, only those", async () => {
    const c = await ok("POST", "/api/v1/check-in", { probe_cc: "IT", on_wifi: true, charging: true, web_connectivity: { category_codes: ["NEWS", "MILX", "FILE"] } });
    expect(c.v).toBe(1);
    const urls = c.tests.web_connectivity.urls as { category_code: string }[];
    // upstream: exactly 100 (87 NEWS, 10 FILE, 3 MILX) from its database; ours from the fixture lists
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.length).toBeLessThanOrEqual(100);
    for (const x of urls) expect(["NEWS", "MILX", "FILE"]).toContain(x.category_code);
    const [, stn, , asn] = (c.tests.web_connectivity.report_id as string).split("_");
    expect([stn, Number(asn)]).toEqual(["webconnectivity", 0]);
  });

  it("test_check_in_url_prioritization_category_codes: test-list/urls with the legacy metadata", async () => {
    const c = await ok("GET", "/api/v1/test-list/urls?category_codes=NEWS,HUMR&country_code=US&limit=100");
    expect(c.metadata.count).toBeGreaterThan(0);
    expect({ ...c.metadata, count: "ignored" }).toEqual({ count: "ignored", current_page: -1, limit: -1, next_url: "", pages: 1 });
    for (const r of c.results) expect(["NEWS", "HUMR"]).toContain(r.category_code);
    expect(new Set(c.results.map((r: { url: string }) => r.url)).size).toBe(c.results.length);
  });

  it("test_list_collectors: a list of collectors", async () => {
    const c = await ok("GET", "/api/v1/collectors");
    // upstream: 6 from its configuration; ours from origin/fixtures/probe/services.json
    expect(c).toContainEqual({ address: "https://api.example.org", type: "https" });
    for (const x of c) expect(Object.keys(x).sort()).toEqual(expect.arrayContaining(["address", "type"]));
  });

  it("test_register: a client_id", async () => {
    const c = await register();
    expect(typeof c.client_id).toBe("string");
    expect(c.client_id.length).toBeGreaterThan(0);
  });

  it("test_register_then_login: a token; a pre-2022 probe's bogus client id logs in too", async () => {
    const { client_id } = await register();
    const c = await ok("POST", "/api/v1/login", { username: client_id, password: PWD });
    expect(typeof c.token).toBe("string");
    expect(Date.parse(c.expire)).toBeGreaterThan(Date.now());
    const bogus = await ok("POST", "/api/v1/login", { username: "BOGUSBOGUS", password: PWD });
    expect(typeof bogus.token).toBe("string");
  });

  it.each(["psiphon-config", "tor-targets"])("test_psiphon / test_tor_targets: %s needs a valid probe token", async (what) => {
    const { client_id } = await register();
    const { token } = await ok("POST", "/api/v1/login", { username: client_id, password: PWD });
    const url = `/api/v1/test-list/${what}`;
    const broken = await u.req("GET", url, { bearer: token.slice(2) });
    expect(broken.status).toBe(401);
    expect(typeof broken.json.error).toBe("string");
    const good = await ok("GET", url, undefined, { authorization: `Bearer ${token}` });
    expect(typeof good).toBe("object");
    expect(Object.keys(good).length).toBeGreaterThan(0);
  });

  it("test_bouncer_net_tests: the legacy bouncer's shape", async () => {
    const c = await ok("POST", "/bouncer/net-tests", {
      "net-tests": [{ "input-hashes": null, name: "web_connectivity", "test-helpers": ["web-connectivity"], version: "0.0.1" }],
    });
    expect(c["net-tests"]).toHaveLength(1);
    const t = c["net-tests"][0];
    // upstream's values are its own hosts (onion collector, cloudfront fronts); the keys are the contract
    expect(Object.keys(t).sort()).toEqual(["collector", "collector-alternate", "input-hashes", "name", "test-helpers", "test-helpers-alternate", "version"]);
    expect(t).toMatchObject({ name: "web_connectivity", version: "0.0.1", "input-hashes": null });
    expect(Object.keys(t["test-helpers"])).toEqual(expect.arrayContaining(["web-connectivity"]));
    for (const a of t["collector-alternate"]) expect(a).toMatchObject({ type: expect.any(String), address: expect.any(String) });
  });

  it("test_bouncer_net_tests_bad_request1 / 2: no body, or no tests, is a 400", async () => {
    expect((await u.req("POST", "/bouncer/net-tests")).status).toBe(400);
    expect((await u.req("POST", "/bouncer/net-tests", { body: { "net-tests": [] } })).status).toBe(400);
  });

  it("test_collector_close_report: {}", async () => {
    expect(await ok("POST", "/report/TestReportID/close")).toEqual({});
  });

  it("test_geolookup: country and network per address, nulls when unknown", async () => {
    const r = await ok("POST", "/api/v1/geolookup", { addresses: ["10.1.2.3", "198.51.100.7"] });
    // upstream's addresses are real ones in its databases; ours from the fixture (origin/fixtures/geoip:
    // 198.51.100.0/24 is US / AS7922, 10.0.0.0/8 is absent; ::1 is IT there, for local probes)
    expect(r.v).toBe(1);
    expect(r.geolocation["10.1.2.3"]).toEqual({ as_name: null, asn: null, cc: null });
    expect(r.geolocation["198.51.100.7"]).toMatchObject({ asn: 7922, cc: "US" });
    expect(typeof r.geolocation["198.51.100.7"].as_name).toBe("string");
  });
});
