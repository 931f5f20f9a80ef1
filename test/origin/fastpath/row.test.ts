import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildFastpathRow, inputAndDomain, parseAsn, pyFloatScores, scoresJson, urlNetloc } from "../../../origin/src/fastpath/row";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { msm, NO_FINGERPRINTS } from "./fixtures";

const COLUMNS = [
  "measurement_uid",
  "report_id",
  "input",
  "probe_cc",
  "probe_asn",
  "test_name",
  "test_start_time",
  "measurement_start_time",
  "scores",
  "platform",
  "anomaly",
  "confirmed",
  "msm_failure",
  "domain",
  "software_name",
  "software_version",
  "test_version",
  "test_runtime",
  "architecture",
  "engine_name",
  "engine_version",
  "blocking_type",
  "test_helper_address",
  "test_helper_type",
  "ooni_run_link_id",
  "is_verified",
];

function row(m: unknown, meta: { measurementUid: string; reportId?: string } = { measurementUid: "uid" }) {
  return buildFastpathRow(m, scoreMeasurement(m, { fingerprints: NO_FINGERPRINTS }), meta);
}

describe("buildFastpathRow", () => {
  it("fills exactly the fastpath columns", () => {
    const m = msm(
      "web_connectivity",
      { blocking: "dns", accessible: false },
      {
        input: "https://yooz.ir/",
        probe_cc: "IR",
        probe_asn: "AS197207",
        software_name: "ooniprobe-android",
        software_version: "3.7.0",
        test_version: "0.4.1",
        test_runtime: 2.476470708,
        annotations: {
          platform: "android",
          architecture: "arm",
          engine_name: "ooniprobe-engine",
          engine_version: "3.15.2",
          ooni_run_link_id: "10014",
        },
        test_helpers: { backend: { address: "https://0.th.ooni.org", type: "https" } },
      },
    );
    const r = row(m, { measurementUid: "20220815190421.000000_IR_webconnectivity_abc" });
    expect(Object.keys(r)).toEqual(COLUMNS);
    expect(r).toEqual({
      measurement_uid: "20220815190421.000000_IR_webconnectivity_abc",
      report_id: "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD",
      input: "https://yooz.ir/",
      probe_cc: "IR",
      probe_asn: 197207,
      test_name: "web_connectivity",
      test_start_time: "2024-02-14 09:06:16",
      measurement_start_time: "2024-02-14 09:06:17",
      scores:
        '{"blocking_general":1.0,"blocking_global":0.0,"blocking_country":0.0,"blocking_isp":0.0,"blocking_local":0.0,"analysis":{"blocking_type":"dns"}}',
      platform: "android",
      anomaly: "t",
      confirmed: "f",
      msm_failure: "f",
      domain: "yooz.ir",
      software_name: "ooniprobe-android",
      software_version: "3.7.0",
      test_version: "0.4.1",
      test_runtime: 2.476470708,
      architecture: "arm",
      engine_name: "ooniprobe-engine",
      engine_version: "3.15.2",
      blocking_type: "dns",
      test_helper_address: "https://0.th.ooni.org",
      test_helper_type: "https",
      ooni_run_link_id: 10014,
      is_verified: "u",
    });
  });

  it("uses defaults for missing or wrong-typed fields, never throws", () => {
    for (const m of [null, 5, "x", [], {}, { annotations: "x", test_helpers: { backend: "http://37.218.247.95:80" }, input: 5, probe_asn: "ASX", test_runtime: "fast", measurement_start_time: "yesterday" }]) {
      const r = row(m);
      expect(Object.keys(r)).toEqual(COLUMNS);
      expect(r).toMatchObject({
        report_id: "",
        input: "",
        domain: "",
        probe_asn: 0,
        platform: "unset",
        software_name: "unknown",
        software_version: "unknown",
        test_start_time: "1970-01-01 00:00:00",
        measurement_start_time: "1970-01-01 00:00:00",
        test_runtime: 0,
        test_helper_address: "",
        test_helper_type: "",
        ooni_run_link_id: null,
        msm_failure: "t",
        is_verified: "u",
      });
    }
  });

  it("takes report_id from meta when given (submit_measurement has none)", () => {
    expect(row(msm("ndt", {}, { report_id: undefined }), { measurementUid: "u", reportId: "made-up" }).report_id).toBe("made-up");
  });

  it("normalises timestamps and run link ids", () => {
    const r = row(msm("ndt", {}, { test_start_time: "2024-2-4 9:6:7", annotations: { ooni_run_link_id: 12 } }));
    expect(r.test_start_time).toBe("2024-02-04 09:06:07");
    expect(r.ooni_run_link_id).toBe(12);
    expect(row(msm("ndt", {}, { annotations: { ooni_run_link_id: "abc" } })).ooni_run_link_id).toBeNull();
    expect(row(msm("ndt", {}, { annotations: { ooni_run_link_id: "-3" } })).ooni_run_link_id).toBeNull();
  });
});

describe("input and domain", () => {
  it("stores list inputs as {a,b}; meek's domain is the first element", () => {
    expect(inputAndDomain({ test_name: "meek_fronted_requests_test", input: ["a0.awsstatic.com", "d2cly7j4zqgua7.cloudfront.net"] })).toEqual({
      input: "{a0.awsstatic.com,d2cly7j4zqgua7.cloudfront.net}",
      domain: "a0.awsstatic.com",
    });
    expect(inputAndDomain({ input: ["http://x.org/a", "b"] })).toEqual({ input: "{http://x.org/a,b}", domain: "x.org" });
    expect(inputAndDomain({ input: null })).toEqual({ input: "", domain: "" });
  });

  it("domain is the URL's netloc, as Python's urlsplit gives it", () => {
    expect(urlNetloc("http://x.org")).toBe("x.org");
    expect(urlNetloc("https://b.web-connectivity.th.ooni.io:443/x?y")).toBe("b.web-connectivity.th.ooni.io:443");
    expect(urlNetloc("vpn://openvpn.riseup/?addr=198.252.153.109:443")).toBe("openvpn.riseup");
    expect(urlNetloc("  HTTP://Example.com#frag")).toBe("Example.com");
    expect(urlNetloc("1.2.3.4:443")).toBe("");
    expect(urlNetloc("foo")).toBe("");
  });

  it("parses ASNs", () => {
    expect(parseAsn("AS30722")).toBe(30722);
    expect(parseAsn("as0")).toBe(0);
    expect(parseAsn(123)).toBe(123);
    expect(parseAsn("AS99999999999")).toBe(0);
    expect(parseAsn("30722")).toBe(0);
  });
});

describe.skipIf(!corpusAvailable)("rows of real measurements (upstream expectations)", () => {
  const load = (f: string) => JSON.parse(readFileSync(corpusPath("measurements", f), "utf8")) as unknown;

  it("browser_web", () => {
    expect(row(load("browser_web.json"), { measurementUid: "bogus_uid" })).toMatchObject({
      anomaly: "f",
      architecture: "",
      blocking_type: "",
      confirmed: "f",
      domain: "www.viber.com",
      engine_name: "",
      engine_version: "",
      input: "https://www.viber.com/",
      measurement_start_time: "2023-03-20 18:27:02",
      msm_failure: "f",
      platform: "unset",
      probe_asn: 577,
      probe_cc: "CA",
      report_id: "20230320T182635Z_browserweb_CA_577_n1_k3Fvk1o9okE1w7w7",
      software_name: "ooniprobe-web",
      software_version: "0.1.0",
      test_name: "browser_web",
      test_runtime: 0.35740000000037253,
      test_start_time: "2023-03-20 18:26:35",
      test_version: "0.1.0",
    });
  });

  it("openvpn", () => {
    expect(row(load("openvpn.json"), { measurementUid: "bogus_uid" })).toMatchObject({
      report_id: "",
      input: "vpn://openvpn.riseup/?addr=198.252.153.109:443&transport=tcp&obfs=obfs4",
      probe_cc: "RO",
      probe_asn: 9009,
      test_start_time: "2022-11-21 17:22:11",
      measurement_start_time: "2022-11-21 17:22:49",
      platform: "linux",
      domain: "openvpn.riseup",
      software_name: "miniooni",
      software_version: "3.17.0-alpha",
      test_version: "0.0.16",
      test_runtime: 37.975210163,
      architecture: "amd64",
      engine_name: "ooniprobe-engine",
      engine_version: "3.17.0-alpha",
    });
  });

  it("meek (list input) and a string test helper", () => {
    expect(row(load("meek.json"))).toMatchObject({ input: "{a0.awsstatic.com,d2cly7j4zqgua7.cloudfront.net}", domain: "a0.awsstatic.com" });
    expect(row(load("mbx-1.json"))).toMatchObject({ test_helper_address: "", test_helper_type: "", platform: "android" });
    expect(row(load("bug_351.json"))).toMatchObject({ test_helper_address: "httpo://y3zq5fwelrzkkv3s.onion", test_helper_type: "onion" });
  });
});

describe("stored scores text", () => {
  it("writes the score floats as upstream's ujson does (1.0, not 1), and nothing else", () => {
    expect(pyFloatScores('{"blocking_general":2,"blocking_global":0,"accuracy":0,"extra":{"test_runtime":3,"accuracy":1}}')).toBe(
      '{"blocking_general":2.0,"blocking_global":0.0,"accuracy":0.0,"extra":{"test_runtime":3,"accuracy":1.0}}',
    );
    expect(pyFloatScores('{"blocking_general":0.98,"msg":"\\"accuracy\\":0"}')).toBe('{"blocking_general":0.98,"msg":"\\"accuracy\\":0"}');
  });
});

describe("scoresJson (the stored scores text, built key by key)", () => {
  it("is exactly pyFloatScores(JSON.stringify(scores)) for any scores object", () => {
    const key = fc.constantFrom("blocking_general", "blocking_global", "blocking_country", "blocking_isp", "blocking_local", "accuracy", "msg", "analysis", 'a"b\\');
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.double(),
        fc.constantFrom(-0, 1e21, -1e21, 2 ** 53, NaN, Infinity, undefined, null, true, '"accuracy":1}', "\\"),
        fc.string(),
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(key, tie("v"), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 8 }), (scores) => {
        expect(scoresJson(scores)).toBe(pyFloatScores(JSON.stringify(scores)));
      }),
      { numRuns: 5000 },
    );
    expect(scoresJson({ blocking_general: 0, accuracy: 1, analysis: { blocking_isp: 1, x: [1] }, msg: "m" })).toBe(
      '{"blocking_general":0.0,"accuracy":1.0,"analysis":{"blocking_isp":1.0,"x":[1]},"msg":"m"}',
    );
  });
});
