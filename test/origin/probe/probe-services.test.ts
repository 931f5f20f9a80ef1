import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";

// The probe-services routes of a real origin process (embedded chDB, fixture GeoIP, fixture test
// list and probe config), called over HTTP like a probe would.

const edgeSecret = randomBytes(24).toString("hex");
let origin: OriginProcess;
const UA = "miniooni/0.1.0-dev ooniprobe-engine/3.31.0";

beforeAll(async () => {
  origin = await startOriginProcess({ env: { EDGE_SHARED_SECRET: edgeSecret, BASE_URL: "https://api.example.org" } });
});
afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

async function call(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${origin.url}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { "user-agent": UA, ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as any };
}

const checkInBody = {
  charging: false,
  on_wifi: true,
  platform: "linux",
  probe_asn: "AS0",
  probe_cc: "ZZ",
  run_type: "timed",
  software_name: "miniooni",
  software_version: "0.1.0-dev",
  web_connectivity: { category_codes: [] as string[] },
};

describe("client address for GeoIP", () => {
  const forged = { "x-forwarded-for": "198.51.100.7" };
  it("ignores a forged X-Forwarded-For sent straight to the origin", async () => {
    const r = await call("/api/v1/check-in", { body: checkInBody, headers: forged });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ probe_cc: "IT", probe_asn: "AS30722", probe_network_name: "Vodafone Italia S.p.A." });
    const wrongSecret = await call("/api/v1/check-in", { body: checkInBody, headers: { ...forged, "x-ooni-edge-auth": `${edgeSecret.slice(0, -1)}x` } });
    expect(wrongSecret.json.probe_cc).toBe("IT");
  });

  it("uses X-Forwarded-For when the edge secret comes with it", async () => {
    const r = await call("/api/v1/check-in", { body: checkInBody, headers: { ...forged, "x-ooni-edge-auth": edgeSecret } });
    expect(r.json).toMatchObject({ probe_cc: "US", probe_asn: "AS7922", probe_network_name: "Comcast Cable Communications, LLC" });
    // The probe did not know its network: the URL list and report ids follow the GeoIP answer.
    const urls = r.json.tests.web_connectivity.urls as { country_code: string }[];
    expect(new Set(urls.map((u) => u.country_code))).toEqual(new Set(["US", "XX"]));
    expect(r.json.tests.web_connectivity.report_id).toMatch(/_webconnectivity_US_7922_n1_/);
  });
});

describe("check-in", () => {
  it("answers the shape the probe parses", async () => {
    const r = await call("/api/v1/check-in", { body: checkInBody });
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const b = r.json;
    expect(b.v).toBe(1);
    expect(b.utc_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(b.utc_time) - Date.now())).toBeLessThan(60_000);
    // What upstream's check-in sends today (ooni/backend ooniapi/services/ooniprobe).
    expect(b.conf.features).toEqual({ torsf_enabled: false, vanilla_tor_enabled: false, openvpn_enabled: false, "webconnectivity_0.5": true });
    expect(b.conf.test_helpers["web-connectivity"].length).toBeGreaterThan(0);
    expect(Object.keys(b.tests)).toHaveLength(21);
    for (const [name, t] of Object.entries(b.tests as Record<string, { report_id: string }>)) {
      expect(t.report_id).toMatch(new RegExp(`^\\d{8}T\\d{6}Z_${name.replace(/_/g, "")}_IT_30722_n1_[A-Za-z0-9]{16}$`));
    }
    for (const u of b.tests.web_connectivity.urls) {
      expect(Object.keys(u).sort()).toEqual(["category_code", "country_code", "url"]);
      expect(u.country_code).toMatch(/^(IT|XX)$/);
    }
  });

  it("sends 20 URLs on timed runs on battery, more when charging, everything on manual runs", async () => {
    const n = async (patch: object) => ((await call("/api/v1/check-in", { body: { ...checkInBody, ...patch } })).json.tests.web_connectivity.urls as unknown[]).length;
    expect(await n({})).toBe(20);
    expect(await n({ charging: true })).toBe(28); // 8 Italian + 20 global fixture URLs (limit 100)
    expect(await n({ run_type: "manual", charging: false })).toBe(28);
  });

  it("keeps the probe's own country and network when it sends them, and filters categories", async () => {
    const r = await call("/api/v1/check-in", {
      body: { ...checkInBody, probe_cc: "us", probe_asn: "AS7922", web_connectivity: { category_codes: "NEWS,HUMR" } },
    });
    expect(r.json.probe_cc).toBe("IT"); // what our GeoIP says about the client…
    const urls = r.json.tests.web_connectivity.urls as { category_code: string; country_code: string }[];
    expect(new Set(urls.map((u) => u.country_code))).toEqual(new Set(["US", "XX"])); // …but the list is the probe's
    expect(new Set(urls.map((u) => u.category_code))).toEqual(new Set(["NEWS", "HUMR"]));
    expect(r.json.tests.ndt.report_id).toMatch(/_ndt_US_7922_n1_/);
  });

  it.each([
    ["malformed JSON", "{", 400],
    ["JSON null", "null", 400],
    ["a wrong type", JSON.stringify({ charging: "yes" }), 400],
    ["a bad probe_cc", JSON.stringify({ probe_cc: "ITA" }), 400],
    ["a bad probe_asn", JSON.stringify({ probe_asn: "30722" }), 400],
    ["bad category codes", JSON.stringify({ web_connectivity: { category_codes: ["NE WS"] } }), 400],
    ["a huge body", JSON.stringify({ platform: "x".repeat(200_000) }), 413],
  ])("refuses %s with a JSON 4xx", async (_what, body, status) => {
    const r = await call("/api/v1/check-in", { body });
    expect(r.status).toBe(status);
    expect(typeof r.json.error).toBe("string");
  });
});

describe("discovery", () => {
  it("lists test helpers; through the edge, the bridge itself comes first", async () => {
    const direct = await call("/api/v1/test-helpers");
    expect(direct.status).toBe(200);
    expect(direct.headers.get("cache-control")).toBe("no-store");
    const wc = direct.json["web-connectivity"] as { address: string; type: string }[];
    expect(wc.map((s) => s.address).sort()).toEqual([0, 1, 2, 3].map((n) => `https://${n}.th.ooni.org`));
    expect(Object.keys(direct.json).sort()).toEqual(["dns", "http-return-json-headers", "ssl", "tcp-echo", "traceroute", "web-connectivity"]);
    const viaEdge = await call("/api/v1/test-helpers", {
      headers: { "x-ooni-edge-auth": edgeSecret, "x-ooni-bridge-host": "some-bridge.example", "x-forwarded-proto": "https" },
    });
    expect(viaEdge.json["web-connectivity"][0]).toEqual({ address: "https://some-bridge.example", type: "https" });
    // Without the secret the header is just a header.
    const forged = await call("/api/v1/test-helpers", { headers: { "x-ooni-bridge-host": "evil.example" } });
    expect(JSON.stringify(forged.json)).not.toContain("evil.example");
  });

  it("advertises the bridge's legacy helpers (type legacy) in test-helpers and check-in, only through the edge", async () => {
    const legacy = JSON.stringify({ "tcp-echo": ["203.0.113.9", "echo.example"], "http-return-json-headers": ["http://203.0.113.9:8080"] });
    const edge = { "x-ooni-edge-auth": edgeSecret, "x-ooni-bridge-host": "some-bridge.example", "x-ooni-bridge-legacy-helpers": legacy };
    const th = await call("/api/v1/test-helpers", { headers: edge });
    expect(th.json["tcp-echo"]).toEqual([
      { address: "203.0.113.9", type: "legacy" },
      { address: "echo.example", type: "legacy" },
    ]);
    expect(th.json["http-return-json-headers"]).toEqual([{ address: "http://203.0.113.9:8080", type: "legacy" }]);
    const ci = await call("/api/v1/check-in", { body: checkInBody, headers: edge });
    expect(ci.json.conf.test_helpers["tcp-echo"]).toEqual(th.json["tcp-echo"]);
    expect(ci.json.conf.test_helpers["http-return-json-headers"]).toEqual(th.json["http-return-json-headers"]);
    // The legacy bouncer names the first of each, as upstream's did.
    const b = await call("/bouncer/net-tests", { body: { "net-tests": [{ name: "http_invalid_request_line", version: "0.2.1" }] }, headers: edge });
    expect(b.json["net-tests"][0]["test-helpers"]["tcp-echo"]).toBe("203.0.113.9");
    // Without the secret, or with a value that is not the edge's shape: nothing.
    const forged = await call("/api/v1/test-helpers", { headers: { "x-ooni-bridge-legacy-helpers": legacy } });
    expect(forged.json["tcp-echo"]).toEqual([]);
    for (const bad of ["not json", '{"tcp-echo":"one"}', '{"tcp-echo":["has space"]}', '{"other":["x"]}']) {
      const r = await call("/api/v1/test-helpers", { headers: { ...edge, "x-ooni-bridge-legacy-helpers": bad } });
      expect(r.status).toBe(200);
      expect(r.json["tcp-echo"]).toEqual([]);
    }
  });

  it("lists collectors and answers the legacy bouncer", async () => {
    const c = await call("/api/v1/collectors");
    expect(c.json).toEqual([{ address: "https://api.example.org", type: "https" }]);
    expect(c.headers.get("cache-control")).toBe("public, max-age=3600");
    const b = await call("/bouncer/net-tests", { body: { "net-tests": [{ name: "web_connectivity", version: "0.0.1", "input-hashes": null, "test-helpers": ["web-connectivity"] }] } });
    expect(b.status).toBe(200);
    expect(b.json["net-tests"][0]).toMatchObject({ name: "web_connectivity", version: "0.0.1", collector: "https://api.example.org", "input-hashes": null });
    expect(b.json["net-tests"][0]["test-helpers"]["web-connectivity"]).toMatch(/^https:\/\/\d\.th\.ooni\.org$/);
    for (const bad of [{}, { "net-tests": [] }, { "net-tests": [{ name: "x" }] }, { "net-tests": "x" }]) {
      const r = await call("/bouncer/net-tests", { body: bad });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(/net-tests/);
    }
  });

  it("serves the manifest and OpenVPN configurations; unknown providers are 404 JSON", async () => {
    const m = await call("/api/v1/manifest");
    expect(m.status).toBe(200);
    expect(m.json.manifest.submission_policy[0].policy.age).toEqual([0, 3650]);
    expect(Object.keys(m.json.meta).sort()).toEqual(["last_modification_date", "library_version", "manifest_url", "protocol_version", "version"]);
    const v = await call("/api/v2/ooniprobe/vpn-config/riseupvpn?country_code=IT");
    expect(v.status).toBe(200);
    expect(v.json).toMatchObject({ provider: "riseupvpn", date_updated: "2024-01-10T00:00:00Z" });
    expect(v.json.config.ca).toMatch(/BEGIN CERTIFICATE/);
    expect(v.json.endpoints.length).toBe(2);
    for (const p of ["nope", "__proto__", "constructor", "toString", "..%2F..%2Fetc"]) {
      const r = await call(`/api/v2/ooniprobe/vpn-config/${p}`);
      expect(r.status).toBe(404);
      expect(r.json.error).toBeTypeOf("string");
    }
  });

  it("geolocates addresses", async () => {
    const r = await call("/api/v1/geolookup", { body: { addresses: ["198.51.100.1", "2001:db8:1::5", "8.8.8.8"] } });
    expect(r.json).toEqual({
      v: 1,
      geolocation: {
        "198.51.100.1": { cc: "US", asn: 7922, as_name: "Comcast Cable Communications, LLC" },
        "2001:db8:1::5": { cc: "BR", asn: 28573, as_name: "Claro NXT Telecomunicacoes Ltda" },
        "8.8.8.8": { cc: null, asn: null, as_name: null },
      },
    });
    expect((await call("/api/v1/geolookup", { body: { addresses: ["not-an-ip"] } })).status).toBe(400);
    expect((await call("/api/v1/geolookup", { body: { addresses: "1.2.3.4" } })).status).toBe(400);
  });

  it("serves the URL list at /api/v1/test-list/urls", async () => {
    const r = await call("/api/v1/test-list/urls?country_code=IT&category_codes=NEWS&limit=3&debug=true");
    expect(r.status).toBe(200);
    expect(r.json.metadata).toEqual({ count: 3, current_page: -1, limit: -1, next_url: "", pages: 1 });
    expect(r.json.results).toHaveLength(3);
    expect(r.json.results[0]).toMatchObject({ category_code: "NEWS", msmt_cnt: 0, priority: 1 });
    const all = await call("/api/v1/test-list/urls?probe_cc=us");
    expect(all.json.metadata.count).toBe(28);
    for (const bad of ["limit=0", "limit=abc", "limit=100000", "country_code=ITA", "category_codes=%3Cscript%3E"]) {
      const b = await call(`/api/v1/test-list/urls?${bad}`);
      expect(b.status).toBe(400);
      expect(b.json.error).toBeTypeOf("string");
    }
  });

  it("documents every probe route in the OpenAPI document", async () => {
    const spec = (await call("/apispec.json")).json as { paths: Record<string, unknown> };
    for (const p of [
      "/api/v1/check-in", "/api/v1/register", "/api/v1/login", "/api/v1/test-helpers", "/api/v1/test-list/tor-targets",
      "/api/v1/test-list/psiphon-config", "/api/v1/test-list/urls", "/api/v2/ooniprobe/vpn-config/{provider}", "/api/v1/collectors",
      "/bouncer/net-tests", "/api/v1/geolookup", "/api/v1/manifest", "/report", "/report/{report_id}", "/report/{report_id}/close",
      "/api/v1/submit_measurement",
    ]) {
      expect(spec.paths, p).toHaveProperty([p]);
    }
  });
});

describe("registration, login and token-protected resources", () => {
  const registerBody = {
    platform: "miniooni", probe_asn: "AS0", probe_cc: "ZZ", software_name: "miniooni", software_version: "0.1.0-dev",
    supported_tests: ["web_connectivity"], password: "x".repeat(64),
  };

  it("register → login → tor-targets and psiphon-config with the Bearer token", async () => {
    const reg = await call("/api/v1/register", { body: registerBody });
    expect(reg.status).toBe(200);
    expect(Object.keys(reg.json)).toEqual(["client_id"]);
    const login = await call("/api/v1/login", { body: { username: reg.json.client_id, password: registerBody.password } });
    expect(login.status).toBe(200);
    expect(login.json.expire).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const days = (Date.parse(login.json.expire) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThan(7.01);
    const auth = { authorization: `Bearer ${login.json.token}` };
    const tor = await call("/api/v1/test-list/tor-targets?country_code=IT", { headers: auth });
    expect(tor.status).toBe(200);
    for (const t of Object.values(tor.json as Record<string, any>)) {
      expect(t).toMatchObject({ address: expect.any(String), name: expect.any(String), protocol: expect.any(String) });
      expect(typeof t.params).toBe("object");
    }
    const ps = await call("/api/v1/test-list/psiphon-config", { headers: auth });
    expect(ps.status).toBe(200);
    expect(typeof ps.json).toBe("object");
  });

  it("401s without a valid token, and on bad credentials", async () => {
    for (const headers of [{}, { authorization: "Bearer nope" }, { authorization: "Basic eDp5" }] as Record<string, string>[]) {
      for (const p of ["/api/v1/test-list/tor-targets", "/api/v1/test-list/psiphon-config"]) {
        const r = await call(p, { headers });
        expect(r.status).toBe(401);
        expect(r.json.error).toBeTypeOf("string");
        expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
    }
    expect((await call("/api/v1/login", { body: { username: "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJwcm9iZV9sb2dpbiJ9.c2lnbmF0dXJl", password: "x" } })).status).toBe(401);
    expect((await call("/api/v1/login", { body: { password: "x" } })).status).toBe(401);
    expect((await call("/api/v1/login", { body: { username: "legacy-id", password: "x" } })).status).toBe(200);
    expect((await call("/api/v1/register", { body: { ...registerBody, password: undefined } })).status).toBe(400);
    expect((await call("/api/v1/register", { body: "[]" })).status).toBe(400);
  });
});
