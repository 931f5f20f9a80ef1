import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { observe, type MeasurementObservations } from "../../../origin/src/observations";
import { isIpBogon } from "../../../origin/src/observations/bogon";
import { normalizeFailure } from "../../../origin/src/observations/failure";
import { splitNetloc, urlHostname } from "../../../origin/src/observations/addresses";
import { corpusAvailable, corpusDir, corpusPath } from "../../support/corpus";

// The web_connectivity → obs_web / obs_web_ctrl transformation (docs/observations.md) on the
// corpus's real measurements (v0.2–v0.4 formats, and a v0.5-era engine), plus the small helpers
// whose Python semantics the rows depend on.

const UID = "20240101000000.000000_IT_webconnectivity_0123456789abcdef";

function observed(file: string): MeasurementObservations {
  const r = observe(JSON.parse(readFileSync(corpusPath("measurements", file), "utf8")) as Record<string, unknown>, UID);
  if (r.kind !== "ok") throw new Error(`${file}: ${JSON.stringify(r)}`);
  return r.observations;
}

const suite = corpusAvailable ? describe : describe.skip;

suite(`web_connectivity observations of the corpus (${corpusDir})`, () => {
  it("DNS answer, TCP connect and HTTP request of one address share a row; the control's view is beside it", () => {
    const o = observed("web_connectivity_b64_hdr.json");
    expect(o.web.map((r) => [r.observation_idx, r.hostname, r.ip, r.dns_answer, r.tcp_success, r.http_request_url])).toEqual([
      [1, "www.feminist.org", "192.124.249.6", "192.124.249.6", 1, null],
      // HTTP requests without an address (older engines) get a row of their own.
      [2, "www.feminist.org", null, null, null, "http://www.feminist.org/"],
    ]);
    expect(o.web[1]).toMatchObject({ http_failure: "http_invalid_redirect_url", http_response_status_code: 307 });
    expect(o.ctrl.map((r) => [r.observation_idx, r.ip, r.port, r.dns_success, r.tcp_success, r.http_success])).toEqual([
      [0, "192.124.249.6", 80, 1, 1, null],
      [1, "feminist.org", null, 1, null, null], // the control listed a CNAME among its addresses
      [2, "", null, null, null, 1],
    ]);
    for (const r of [...o.web, ...o.ctrl]) {
      expect(r).toMatchObject({ measurement_uid: UID, bucket_date: "2024-01-01", test_name: "web_connectivity", measurement_start_time: "2017-07-25 17:55:45.000" });
    }
    expect(o.web[0]).toMatchObject({ probe_asn: 9443, probe_cc: "AU", ip_is_bogon: 0, probe_analysis: "http-failure" });
  });

  it("a bogon answer with a timed-out connection (Iran's 10.10.34.36)", () => {
    const o = observed("web_connectivity_ir_fp.json");
    expect(o.web[0]).toMatchObject({ ip: "10.10.34.36", ip_is_bogon: 1, dns_answer: "10.10.34.36", tcp_success: 0, tcp_failure: "generic_timeout_error", port: 443 });
    // The control could connect to none of it but resolved the real addresses.
    expect(o.ctrl.filter((r) => r.dns_success === 1).map((r) => r.ip)).toEqual(["157.240.192.35", "2a03:2880:f137:182:face:b00c:0:25de"]);
    expect(o.ctrl.find((r) => r.ip === "10.10.34.36")).toMatchObject({ tcp_success: 0, dns_success: null, ip_is_bogon: 1 });
  });

  it("NXDOMAIN from the system resolver, one row per query; v0.4 keys of ooniprobe-desktop 3.1", () => {
    const o = observed("requests_none.json");
    expect(o.web.map((r) => [r.dns_query_type, r.dns_engine, r.dns_failure, r.ip])).toEqual([
      ["A", "system", "dns_nxdomain_error", null],
      ["AAAA", "system", "dns_nxdomain_error", null],
    ]);
    expect(o.web[0]).toMatchObject({ probe_as_org_name: "Slovak Telecom, a. s.", resolver_asn_probe: 13335, resolver_ip: "127.0.0.2", engine_name: "ooniprobe-engine" });
  });

  it("CNAME answers are rows without an address", () => {
    const o = observed("bug_351.json");
    expect(o.web[0]).toMatchObject({ dns_answer_type: "CNAME", dns_answer: "dyna.wikimedia.org", ip: null, ip_is_bogon: null });
    expect(o.web[1]).toMatchObject({ dns_answer: "91.198.174.192", ip: "91.198.174.192", tcp_success: 1, port: 443 });
  });

  it("an HTTPS request failing TLS validation in an old engine keeps its raw failure text", () => {
    const o = observed("web_connectivity_no_body.json");
    expect(o.web.at(-1)).toMatchObject({ http_request_url: "https://www.nmrc.org/", http_failure: expect.stringMatching(/^ssl_error/) });
  });

  it("every web_connectivity measurement of the corpus transforms, except the two upstream rejects too; tests upstream does not observe get none", () => {
    const files = ["bug_351.json", "requests_none.json", "web_connectivity_b64_hdr.json", "web_connectivity_ir_fp.json", "web_connectivity_no_body.json", "web_connectivity_null.json"];
    for (const f of files) expect(observe(JSON.parse(readFileSync(corpusPath("measurements", f), "utf8")), UID).kind, f).toBe("ok");
    // test_keys null; a body whose base64 lacks its padding (Python's b64decode refuses it).
    expect(observe(JSON.parse(readFileSync(corpusPath("measurements", "test_keys_none.json"), "utf8")), UID)).toMatchObject({ kind: "failed", error: "test_keys is not an object" });
    expect(observe(JSON.parse(readFileSync(corpusPath("measurements", "web_connectivity_b64_incorrect.json"), "utf8")), UID)).toMatchObject({ kind: "failed", error: expect.stringContaining("padding") });
    // Tests upstream has no transformer for (the others: nettests.test.ts).
    for (const f of ["http_requests_1.json", "meek.json", "openvpn.json", "vanilla_tor.json"]) {
      expect(observe(JSON.parse(readFileSync(corpusPath("measurements", f), "utf8")), UID).kind, f).toBe("none");
    }
  });
});

describe("observation helpers", () => {
  it("failures: absent is null, true is 'true', Go texts map to OONI failure strings", () => {
    expect(normalizeFailure(null)).toBeNull();
    expect(normalizeFailure(false)).toBeNull();
    expect(normalizeFailure("")).toBeNull();
    expect(normalizeFailure(true)).toBe("true");
    expect(normalizeFailure("connection_reset")).toBe("connection_reset");
    expect(normalizeFailure("unknown_failure: dial tcp 1.2.3.4:443: connect: network is unreachable")).toBe("network_unreachable");
    expect(normalizeFailure("unknown_failure: something new")).toBe("unknown_failure: something new");
  });

  it("bogons: private, loopback, documentation and mapped ranges of both families", () => {
    for (const ip of ["10.10.34.36", "127.0.0.1", "192.168.1.1", "100.64.0.1", "::1", "fd00::1", "::ffff:8.8.8.8", "2001:db8::1", "2002:a00::1"]) expect(isIpBogon(ip), ip).toBe(true);
    for (const ip of ["8.8.8.8", "93.184.215.14", "2a03:2880:f137:182:face:b00c:0:25de", "not-an-ip", ""]) expect(isIpBogon(ip), ip).toBe(false);
  });

  it("addresses and URLs are read as Python's urllib reads them", () => {
    expect(splitNetloc("1.2.3.4:443")).toEqual({ hostname: "1.2.3.4", port: 443 });
    expect(splitNetloc("[2001:DB8::1]:80")).toEqual({ hostname: "2001:db8::1", port: 80 });
    expect(splitNetloc("scrubbed:443")).toEqual({ hostname: "scrubbed", port: 443 });
    expect(() => splitNetloc("1.2.3.4:http")).toThrow();
    expect(urlHostname("https://User@WWW.Example.ORG:8443/a?b")).toBe("www.example.org");
    expect(urlHostname("http://[::1]/")).toBe("::1");
    expect(urlHostname("example.org/path")).toBeNull();
  });
});
