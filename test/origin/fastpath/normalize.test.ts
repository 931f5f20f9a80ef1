import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  decodeUtf8,
  isLegacyYamlReport,
  legacyReportId,
  normalizeLegacyYamlReport,
  parseMeasurementText,
  splitYamlDocuments,
  trivialId,
  unwrapEnvelope,
} from "../../../origin/src/fastpath/normalize";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { NO_FINGERPRINTS } from "./fixtures";

const HEADER = `---
probe_asn: AS15897
probe_cc: TR
probe_ip: 127.0.0.1
report_id: null
software_name: ooniprobe
software_version: 1.3.1
start_time: 1441320103.0
test_name: http_requests
test_version: 0.2.4
options: [-f, list.txt]
...
`;

describe("parseMeasurementText", () => {
  it("JSON object, array, JSON lines", () => {
    expect(parseMeasurementText('{"test_name":"ndt"}')).toEqual([{ test_name: "ndt" }]);
    expect(parseMeasurementText('\uFEFF [{"a":1},{"b":2}]')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(parseMeasurementText('{"a":1}\n\n{"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(parseMeasurementText("   ")).toEqual([]);
  });

  it("unwraps {format, content} envelopes (object or serialised content)", () => {
    expect(parseMeasurementText('{"format":"json","content":{"test_name":"ndt"}}')).toEqual([{ test_name: "ndt" }]);
    expect(parseMeasurementText(JSON.stringify({ format: "JSON", content: '{"test_name":"ndt"}' }))).toEqual([{ test_name: "ndt" }]);
    expect(parseMeasurementText(JSON.stringify({ format: "yaml", content: "test_name: ndt\nok: yes\nn: n\n" }))).toEqual([
      { test_name: "ndt", ok: true, n: "n" },
    ]);
    expect(() => parseMeasurementText('{"format":"json","content":"{nope"}')).toThrow();
    expect(() => parseMeasurementText('{"format":"xml","content":"<a/>"}')).toThrow(/unsupported measurement format/);
    expect(unwrapEnvelope({ format: "xml", content: "" })).toBeNull();
    expect(unwrapEnvelope({ test_name: "x" })).toEqual({ test_name: "x" });
  });

  it("throws on text that is not a measurement", () => {
    expect(() => parseMeasurementText("{oops")).toThrow(/invalid JSON/);
    expect(() => parseMeasurementText("a: [unclosed")).toThrow(/invalid YAML/);
  });
});

describe("legacy YAML reports", () => {
  const report = `${HEADER}---
input: http://example.com
body_length_match: false
headers_match: true
control_failure: null
experiment_failure: null
headers_diff: !!set {Location: null}
requests:
- request:
    body: null
    headers:
    - [User-Agent, [Mozilla]]
    method: GET
    tor: {is_tor: false}
    url: http://example.com
  response:
    body: !!binary |
      aGVsbG8g/yB3b3JsZA==
    code: 200
    headers:
    - [Content-Length, ['11']]
    - [Server, [nginx]]
- request:
    body: null
    headers: []
    method: GET
    tor: {is_tor: true, exit_ip: 1.2.3.4, exit_name: relay}
    url: shttp://example.com
  response: null
test_start_time: 1441320110.5
...
---
null
...
---
input: http://second.example
body_length_match: true
headers_match: true
requests: []
test_start_time: 1441320120.0
...
`;

  it("detects a report", () => {
    expect(isLegacyYamlReport(report)).toBe(true);
    expect(isLegacyYamlReport(HEADER)).toBe(false);
    expect(isLegacyYamlReport('{"a":1}')).toBe(false);
    expect(splitYamlDocuments(Buffer.from(report))).toHaveLength(4);
  });

  it("normalises entries to the 0.2.0 shape", () => {
    const [first, second, ...rest] = parseMeasurementText(report) as Record<string, unknown>[];
    expect(rest).toHaveLength(0);
    expect(first).toMatchObject({
      data_format_version: "0.2.0",
      test_name: "http_requests",
      input: "http://example.com",
      probe_cc: "TR",
      report_id: legacyReportId({
        probe_asn: "AS15897",
        probe_cc: "TR",
        software_version: "1.3.1",
        start_time: 1441320103.0,
        test_name: "http_requests",
      }),
      test_start_time: "2015-09-03 22:41:43",
      measurement_start_time: "2015-09-03 22:41:50",
      options: ["-f", "list.txt"],
    });
    expect(first!.report_id).toMatch(/^20150903T224143Z_[A-Za-z]{50}$/);
    expect(first!.measurement_uid).toMatch(/^0120150903[0-9a-f]{30}$/);
    expect(first!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const tk = first!.test_keys as Record<string, unknown>;
    expect(tk).toMatchObject({ body_length_match: false, headers_match: true, headers_diff: ["Location"] });
    expect(tk.requests).toEqual([
      {
        request: {
          body: null,
          headers: { "User-Agent": "Mozilla" },
          method: "GET",
          tor: { is_tor: false, exit_ip: null, exit_name: null },
          url: "http://example.com",
        },
        response: { body: "hello \\xff world", code: 200, headers: { "Content-Length": "11", Server: "nginx" } },
        response_length: "11",
      },
      {
        request: { body: null, headers: {}, method: "GET", tor: { is_tor: true, exit_ip: null, exit_name: null }, url: "http://example.com" },
        response: { body: null, headers: {} },
        response_length: null,
      },
    ]);
    expect(second).toMatchObject({ input: "http://second.example", measurement_start_time: "2015-09-03 22:42:00" });
    // scored as http_requests
    expect(scoreMeasurement(first, { fingerprints: NO_FINGERPRINTS }).anomaly).toBe(true);
    expect(scoreMeasurement(second, { fingerprints: NO_FINGERPRINTS }).scores.blocking_general).toBe(0);
  });

  it("normalises DNS answers of dns_consistency", () => {
    const dns = `---
probe_cc: BE
probe_asn: AS5432
report_id: r1
start_time: 1513784000.0
test_name: dns_consistency
...
---
input: example.com
tampering: {8.8.8.8: false}
queries:
- addrs: [93.184.216.34]
  answers:
  - [<RR name=example.com type=A class=IN ttl=300s auth=False>, <A address=93.184.216.34 ttl=300>]
  - [<RR name=www.example.com type=CNAME class=IN ttl=60s auth=False>, <CNAME name=example-.cdn.example.net. ttl=60>]
  query: '[Query(''example.com'', 1, 1)]'
  query_type: A
  resolver: [8.8.8.8, 53]
- query: nothing
  answers: []
test_start_time: 1513784010.0
...
`;
    const [m] = normalizeLegacyYamlReport(dns);
    const tk = m!.test_keys as Record<string, unknown>;
    expect(tk.queries).toEqual([
      {
        query_type: "A",
        hostname: "example.com",
        resolver_hostname: "8.8.8.8",
        resolver_port: 53,
        answers: [
          { ttl: "300", answer_type: "A", ipv4: "93.184.216.34" },
          { ttl: "60", answer_type: "CNAME", hostname: "example" },
        ],
        failure: null,
      },
      { hostname: "", resolver_hostname: null, resolver_port: null, answers: [], failure: "no_answer" },
    ]);
    // upstream iterates the tampering dict's keys as pairs: kept as is
    expect(tk.errors).toEqual({ "8.8.8.8": false });
    expect(scoreMeasurement(m, { fingerprints: NO_FINGERPRINTS }).scores).toMatchObject({ blocking_general: 0 });
  });

  it("skips entries upstream could not normalise, keeps the others", () => {
    const text = `${HEADER.replace("http_requests", "tcp_connect")}---
input: 1.2.3.4:80
...
`;
    expect(normalizeLegacyYamlReport(text)).toEqual([]);
    const broken = `${HEADER}---
input: [unclosed
...
---
input: http://ok.example
requests: []
...
`;
    expect(normalizeLegacyYamlReport(broken).map((m) => m.input)).toEqual(["http://ok.example"]);
  });

  it("upstream's id functions", () => {
    expect(trivialId(new Uint8Array(0), { measurement_start_time: "2021-02-03 10:11:12" })).toBe(
      "01202102037f9c2ba4e88f827d61604550760585",
    );
    expect(legacyReportId({})).toBe("19700101T000000Z_KWnRnnxAmNrJfoqrTxAKhVDgGkiuSYfGDSecYaayqhcqlfOXCX");
    expect(legacyReportId({ probe_cc: "UK", test_name: "web_connectivity" })).toBe(
      "19700101T000000Z_LLWQMcPHNefGtRNzxcgKlXlSjKmRuyyKLycBDGwNiNEbMztVzb",
    );
  });

  it("decodes bytes as Python does", () => {
    const b = new Uint8Array([0x52, 0x65, 0xed, 0x6b, 0xe4, 0xb8, 0x41, 0xc3, 0xa9]);
    expect(decodeUtf8(b, "ignore")).toBe("RekAé");
    expect(decodeUtf8(b, "backslashreplace")).toBe("Re\\xedk\\xe4\\xb8Aé");
  });
});

describe.skipIf(!corpusAvailable)("legacy YAML files of the corpus", () => {
  const read = (f: string) => readFileSync(corpusPath("measurements", f), "utf8");

  it("binary_city.yaml: binary probe_city is decoded", () => {
    const [m] = parseMeasurementText(read("binary_city.yaml")) as Record<string, unknown>[];
    expect(m).toMatchObject({ probe_city: "Reykjavk", test_name: "http_requests", data_format_version: "0.2.0" });
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it("dns_n_http_bin_body.yaml: one JSON-safe measurement", () => {
    const msms = parseMeasurementText(read("dns_n_http_bin_body.yaml"));
    expect(msms).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(msms[0]))).toEqual(msms[0]);
  });

  it("http_invalid_request_line.yaml: the entry's float test_start_time wins", () => {
    const [m] = parseMeasurementText(read("http_invalid_request_line.yaml")) as Record<string, unknown>[];
    expect(m).toMatchObject({
      test_name: "http_invalid_request_line",
      test_start_time: "2018-07-26 15:37:14",
      measurement_start_time: "2018-07-26 15:50:22",
    });
    const received = (m!.test_keys as Record<string, unknown[]>).received!;
    expect(received).toHaveLength(4);
    expect(scoreMeasurement(m, { fingerprints: NO_FINGERPRINTS }).anomaly).toBe(true);
  });
});
