import { compress } from "@mongodb-js/zstd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type Upstream } from "./support";

// ooni/backend ooniapi/services/ooniprobe/tests/integ/test_checkin.py and test_reports.py
// (32d8349d), as our tests. Addresses and lists come from our fixtures (origin/fixtures/geoip,
// origin/fixtures/testlists) instead of upstream's databases.

const EDGE_SECRET = "edge-secret-for-upstream-probe-tests-0123";
let u: Upstream;
beforeAll(async () => {
  u = await startUpstream({ EDGE_SHARED_SECRET: EDGE_SECRET });
});
afterAll(async () => {
  await u?.close();
});

const ok = async (method: string, p: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await u.req(method, p, { body, headers });
  expect(r.status, r.text).toBe(200);
  return r.json;
};

describe("ooniprobe check-in", () => {
  it("test_check_in_geoip: the client's address decides probe_cc and probe_asn", async () => {
    // deviation: upstream believes X-Forwarded-For from its proxy; here only with the edge's secret
    // (docs/architecture.md). 198.51.100.0/24 is US / AS7922 in our GeoIP fixture.
    const c = await ok("POST", "/api/v1/check-in", { on_wifi: true, charging: false }, { "x-forwarded-for": "198.51.100.7", "x-ooni-edge-auth": EDGE_SECRET });
    expect(c.probe_cc).toBe("US");
    expect(c.probe_asn).toBe("AS7922");
    expect(c.probe_network_name).not.toBeNull();
  });

  it("test_check_in_basic: URLs, a web_connectivity report id for the probe's network, conf keys", async () => {
    const c = await ok("POST", "/api/v1/check-in", { probe_cc: "US", probe_asn: "AS1234", on_wifi: true, charging: false });
    expect(c.v).toBe(1);
    expect(c.tests.web_connectivity.urls.length).toBeGreaterThan(1);
    const [, stn, cc, asn] = (c.tests.web_connectivity.report_id as string).split("_");
    expect([stn, cc, Number(asn)]).toEqual(["webconnectivity", "US", 1234]);
    expect(Object.keys(c.conf).sort()).toEqual(["features", "test_helpers"]);
  });

  it("test_check_in_webconnectivity_lte: the webconnectivity_0.5 feature is on", async () => {
    const c = await ok("POST", "/api/v1/check-in", { probe_cc: "US", probe_asn: "AS1234", software_name: "ooniprobe-cli", software_version: "3.28.0", on_wifi: true, charging: false });
    expect(c.conf.features["webconnectivity_0.5"]).toBe(true);
  });

  it("test_check_in_url_category_news: only the asked category; unknown network is ZZ / 0", async () => {
    const c = await ok("POST", "/api/v1/check-in", { on_wifi: true, charging: true, web_connectivity: { category_codes: ["NEWS"] } });
    const urls = c.tests.web_connectivity.urls as { category_code: string }[];
    expect(urls.length).toBeGreaterThan(0);
    for (const x of urls) expect(x.category_code).toBe("NEWS");
    const [, stn, cc, asn] = (c.tests.web_connectivity.report_id as string).split("_");
    expect([stn, cc, Number(asn)]).toEqual(["webconnectivity", "ZZ", 0]);
  });

  it("test_test_helpers: the test helpers by kind", async () => {
    const c = await ok("GET", "/api/v1/test-helpers", undefined);
    // upstream's configuration has 6 kinds; ours are those of origin/fixtures/probe/services.json
    expect(Object.keys(c).length).toBeGreaterThan(0);
    expect(Array.isArray(c["web-connectivity"])).toBe(true);
  });
});

const SOFTWARE = { software_name: "miniooni", software_version: "0.17.0-beta" };

describe("ooniprobe reports (collector)", () => {
  const open = {
    data_format_version: "0.2.0",
    format: "json",
    probe_asn: "AS65550",
    probe_cc: "IE",
    software_name: "ooni-integ-test",
    software_version: "0.0.0",
    test_name: "web_connectivity",
    test_start_time: "2020-09-09 14:11:11",
    test_version: "0.1.0",
  };

  it("test_collector_open_report: a 61-character report id naming test, country and network", async () => {
    const c = await ok("POST", "/report", open);
    const rid = c.report_id as string;
    delete c.report_id;
    expect(rid).toContain("_webconnectivity_IE_65550_");
    expect(rid).toHaveLength(61);
    // deviation: backend_version is ours (upstream "1.3.5"), and YAML (data format 0.1) is not
    // accepted, so supported_formats is ["json"] (docs/probe-services.md)
    expect(c).toEqual({ backend_version: expect.any(String), supported_formats: ["json"] });
  });

  it("test_collector_upload_msmt_bogus: a bogus report id is a 400", async () => {
    expect((await u.req("POST", "/report/bogus", { body: { format: "json", content: { test_keys: {} } } })).status).toBe(400);
  });

  it("test_collector_upload_msmt_valid: open, upload (uid shape), close", async () => {
    const rid = (await ok("POST", "/report", { ...open, probe_asn: "AS34245", software_name: "miniooni", software_version: "0.17.0-beta" })).report_id;
    // deviation: a measurement must name its software (software_name, software_version): upstream
    // stores one without; ours refuses it as bad_metadata (docs/probe-services.md). Real probes send both.
    const c = await ok("POST", `/report/${rid}`, { format: "json", content: { test_keys: {}, probe_cc: "IE", probe_asn: "AS34245", test_name: "web_connectivity", ...SOFTWARE } });
    expect(c.measurement_uid).toMatch(/^\d{14}\.\d+_IE_webconnectivity_[0-9a-f]{16}$/);
    expect(await ok("POST", `/report/${rid}/close`, {})).toEqual({});
  });

  it.each([{ probe_cc: "DE" }, { probe_asn: "AS2" }, { test_name: "ndt" }])(
    "test_rejects_body_report_id_mismatch: %o is a 400",
    async (override) => {
      const rid = "20230101T000000Z_integtest_IT_1_n1_integtest0000000";
      const r = await u.req("POST", `/report/${rid}`, { body: { format: "json", content: { test_keys: {}, probe_cc: "IT", probe_asn: "AS1", test_name: "integtest", ...override } } });
      expect(r.status).toBe(400);
      // deviation (shape only): upstream {"detail": "Inconsistent measurement"}; ours names it in "error"
      expect(typeof r.json.error).toBe("string");
    },
  );

  it("test_collector_upload_msmt_valid_zstd: a zstd body is accepted", async () => {
    const rid = "20230101T000000Z_integtest_IT_1_n1_integtest0000000";
    const body = JSON.stringify({ format: "json", content: { test_keys: {}, probe_cc: "IT", probe_asn: "AS1", test_name: "integtest", ...SOFTWARE } });
    const r = await u.origin.app.request(`/report/${rid}`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "zstd" },
      body: new Uint8Array(await compress(Buffer.from(body))),
    });
    const j = (await r.json()) as { measurement_uid: string };
    expect(r.status, JSON.stringify(j)).toBe(200);
    expect(j.measurement_uid).toMatch(/^\d{14}\.\d+_IT_integtest_[0-9a-f]{16}$/);
  });
});
