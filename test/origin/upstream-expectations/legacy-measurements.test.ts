import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitAndScore, type Sent } from "../archive/support";
import { fastpathRow, type Row } from "../measurements/rows";
import { startUpstream, type Upstream } from "./support";

// ooni/backend api/tests/integ/test_integration.py (the legacy Flask API's measurement routes,
// 32d8349d), as our tests. Two kinds of data: measurements submitted through the real intake
// routes and scored (bodies in the spool, so raw_measurement / measurement/{uid} / full=true have
// something to return byte for byte), and fastpath rows written here for the search filters, on
// 2021-07-09 as upstream's fixture. Upstream's rate-limit tests are in legacy-ratelimit.test.ts.
// Not ported: the 24 tests marked proddb-only, WIP, "DROP" or "legacy" upstream (files listing
// and download, bug_355/142/278, duplicate_in_fp, meek, external_order_by, slow_domain_*).

let u: Upstream;
let sent: Sent[];
const W = "since=2021-07-09&until=2021-07-10";
const at = (d: string, h: number, m = 0) => new Date(`${d}T${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:00Z`);
const D = "2021-07-09";

type LRow = Row & { domain?: string };
let n = 0;
const rows = (count: number, f: (i: number) => Omit<LRow, "id">): LRow[] => Array.from({ length: count }, (_, i) => ({ id: `r${++n}`, ...f(i) }));
const FIXTURE: LRow[] = [
  // IE: 300 web_connectivity measurements (paging), all ok, from probe 3.9.2 / test 0.4.0
  ...rows(300, (i) => ({ t: at(D, 1 + Math.floor(i / 60), i % 60), cc: "IE", asn: 5466, input: `https://ie${i}.example/`, sw: "3.9.2", tv: "0.4.0", ev: "3.9.2" })),
  // BR: every possible flag combination (confirmed implies anomaly)
  ...rows(5, () => ({ t: at(D, 7), cc: "BR", asn: 8167, input: "https://twitter.com/", failure: true })),
  ...rows(7, () => ({ t: at(D, 8), cc: "BR", asn: 8167, input: "https://twitter.com/", anomaly: true })),
  ...rows(3, () => ({ t: at(D, 9), cc: "BR", asn: 8167, input: "https://twitter.com/", anomaly: true, failure: true })),
  ...rows(4, () => ({ t: at(D, 10), cc: "BR", asn: 8167, input: "https://twitter.com/", anomaly: true, confirmed: true })),
  ...rows(2, () => ({ t: at(D, 11), cc: "BR", asn: 8167, input: "https://twitter.com/", anomaly: true, confirmed: true, failure: true })),
  // RU: stunreachability; CH: older probe versions; US: a NEWS site and twitter
  ...rows(3, (i) => ({ t: at(D, 12, i), cc: "RU", asn: 12389, test: "stunreachability", input: "stun://stun.l.google.com:19302", domain: "stun.l.google.com" })),
  ...rows(2, () => ({ t: at(D, 13), cc: "CH", asn: 3303, test: "dnscheck", input: "https://dns.google/dns-query", sw: "0.7.1" })),
  ...rows(1, () => ({ t: at(D, 13), cc: "CH", asn: 3303, test: "dnscheck", input: "https://dns.google/dns-query", sw: "0.8.1" })),
  ...rows(1, () => ({ t: at(D, 14), cc: "US", asn: 7922, input: "http://ncac.org/" })),
  ...rows(2, (i) => ({ t: at(D, 15, i), cc: "US", asn: 7922, input: "https://twitter.com/", anomaly: true })),
  // GB, AS5089: 60 measurements over 2020
  ...rows(60, (i) => ({ t: at(`2020-${String(1 + (i % 12)).padStart(2, "0")}-15`, 12, i), cc: "GB", asn: 5089, input: "https://www.bbc.co.uk/" })),
];

beforeAll(async () => {
  u = await startUpstream();
  const db = u.origin.services.db;
  await db.client.command({ query: "TRUNCATE TABLE citizenlab" });
  await db.client.insert({ table: "citizenlab", values: [{ url: "http://ncac.org/", domain: "ncac.org", cc: "ZZ", category_code: "NEWS" }], format: "JSONEachRow" });
  const values = FIXTURE.map((r) => ({ ...fastpathRow({ ...r, input: r.input?.startsWith("stun:") ? undefined : r.input }), input: r.input ?? "", domain: r.domain ?? (r.input ? new URL(r.input).hostname : "") }));
  await db.client.insert({ table: "fastpath", values, format: "JSONEachRow" });
  // IT web_connectivity (through /report), DE ndt without input (submit_measurement), IR telegram
  sent = await submitAndScore(u.origin.app, u.origin.services, 3);
});
afterAll(async () => {
  await u?.close();
});

const api = async (sub: string, headers: Record<string, string> = {}) => {
  const r = await u.req("GET", `/api/v1/${sub}`, { headers });
  expect(r.status, `${sub}: ${r.text}`).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  return r.json;
};
const wc = () => sent.find((s) => s.testName === "web_connectivity")!;
const ndt = () => sent.find((s) => s.testName === "ndt")!;
const META_KEYS = ["anomaly", "category_code", "confirmed", "failure", "input", "measurement_start_time", "measurement_uid", "probe_asn", "probe_cc", "report_id", "scores", "test_name", "test_start_time"];

describe("legacy measurement_meta, raw_measurement, measurement/{uid}", () => {
  const expectMeta = (j: Record<string, unknown>, s: Sent, body: Record<string, string>) => {
    // adapted: verification_status is added (the current upstream answers it too)
    expect(Object.keys(j).sort()).toEqual([...META_KEYS, "verification_status"].sort());
    expect(j).toMatchObject({
      input: s.input ?? "",
      measurement_uid: s.uid,
      probe_asn: Number(body.probe_asn!.slice(2)),
      probe_cc: s.cc,
      report_id: s.reportId,
      test_name: s.testName,
      measurement_start_time: `${body.measurement_start_time!.replace(" ", "T")}Z`,
      test_start_time: `${body.test_start_time!.replace(" ", "T")}Z`,
    });
    for (const k of ["anomaly", "confirmed", "failure"]) expect(typeof j[k], k).toBe("boolean");
    expect(typeof JSON.parse(j.scores as string)).toBe("object");
  };
  const bodyOf = (s: Sent) => JSON.parse(s.bytes.toString()) as Record<string, string>;

  it("test_get_measurement_meta_basic: by report_id + input; category \"\" when no list files the input", async () => {
    const s = wc();
    const j = await api(`measurement_meta?${new URLSearchParams({ report_id: s.reportId, input: s.input! })}`);
    expectMeta(j, s, bodyOf(s));
    expect(j.category_code).toBe("");
  });

  it("test_get_measurement_meta_invalid_rid: 'report_id' named in the refusal", async () => {
    const r = await u.req("GET", "/api/v1/measurement_meta?report_id=BOGUS");
    expect(r.status).toBe(400); // as upstream (Flask's BadRequest)
    expect(r.text).toMatch(/report_id/);
  });

  it("test_get_measurement_meta_not_found: 200 {}", async () => {
    expect(await api("measurement_meta?report_id=20200712T100000Z_AS9999_BOGUSsYKWBS2S0hdzXf7rhUusKfYP5cQM9HwAdZRPmUfroVoCn")).toEqual({});
  });

  it("test_get_measurement_meta_input_none_from_fp: by report_id alone; input \"\", category_code null", async () => {
    const s = ndt();
    const j = await api(`measurement_meta?report_id=${s.reportId}`);
    expectMeta(j, s, bodyOf(s));
    expect(j.input).toBe("");
    expect(j.category_code).toBeNull();
  });

  it("test_get_measurement_meta_full: raw_measurement is the body as submitted", async () => {
    const s = wc();
    const j = await api(`measurement_meta?${new URLSearchParams({ report_id: s.reportId, input: s.input!, full: "True" })}`);
    const raw = j.raw_measurement;
    delete j.raw_measurement;
    expectMeta(j, s, bodyOf(s));
    expect(raw).toBe(s.bytes.toString());
  });

  it("test_get_measurement_meta_by_uid / _by_uid_full", async () => {
    for (const s of sent) {
      const j = await api(`measurement_meta?measurement_uid=${s.uid}`);
      expectMeta(j, s, bodyOf(s));
      const full = await api(`measurement_meta?measurement_uid=${s.uid}&full=True`);
      expect(full.raw_measurement).toBe(s.bytes.toString());
    }
  });

  it("test_get_raw_measurement: by report_id + input, the body's keys", async () => {
    const s = wc();
    const j = await api(`raw_measurement?${new URLSearchParams({ report_id: s.reportId, input: s.input! })}`);
    expect(Object.keys(j)).toEqual(Object.keys(bodyOf(s)));
  });

  it("test_get_measurement_body_by_uid", async () => {
    for (const s of sent) expect(Object.keys(await api(`raw_measurement?measurement_uid=${s.uid}`))).toEqual(Object.keys(bodyOf(s)));
  });

  it("test_get_measurement_body_by_uid_missing", async () => {
    // deviation (docs/compat.md): upstream 200 {}. Here a uid whose last part is not 16 hex digits
    // is malformed (400 naming the parameter), and a well-formed unknown one is 404 {"error"}
    const bogus = await u.req("GET", "/api/v1/raw_measurement?measurement_uid=20210709005529.664022_MY_webconnectivity_bogusbogusbogusb");
    expect(bogus.status).toBe(400);
    expect(bogus.json.parameter).toBe("measurement_uid");
    const unknown = await u.req("GET", "/api/v1/raw_measurement?measurement_uid=20210709005529.664022_MY_webconnectivity_0123456789abcdef");
    expect(unknown.status).toBe(404);
    expect(typeof unknown.json.error).toBe("string");
  });

  it("test_get_measurement_found / _found_dload: the body's own fields", async () => {
    const s = wc();
    const b = bodyOf(s);
    for (const q of ["", "?download=true"]) {
      const j = await api(`measurement/${s.uid}${q}`);
      expect(j.measurement_start_time).toBe(b.measurement_start_time);
      expect(j.probe_asn).toBe(b.probe_asn);
      expect(j.probe_cc).toBe(s.cc);
    }
  });

  it("test_get_measurement_missing_pipeline: a malformed uid is a 400", async () => {
    expect((await u.req("GET", "/api/v1/measurement/temp-id-999999999999999999")).status).toBe(400);
  });
});

describe("legacy list_measurements", () => {
  type Result = Record<string, any>;
  const list = async (q: string, headers: Record<string, string> = {}) => (await api(`measurements?${q}`, headers)) as { metadata: Record<string, any>; results: Result[] };

  it("test_list_measurements_one: report_id + input, the legacy result shape", async () => {
    const s = wc();
    const j = await list(new URLSearchParams({ report_id: s.reportId, input: s.input! }).toString());
    expect(j.metadata.count).toBe(1);
    const r = j.results[0]!;
    // adapted: verification_status added, as the current upstream
    expect(Object.keys(r).sort()).toEqual(
      ["anomaly", "confirmed", "failure", "input", "measurement_start_time", "measurement_uid", "measurement_url", "probe_asn", "probe_cc", "report_id", "scores", "test_name", "verification_status"].sort(),
    );
    expect(r).toMatchObject({ input: s.input, measurement_uid: s.uid, probe_asn: "AS30722", probe_cc: "IT", report_id: s.reportId, test_name: "web_connectivity" });
    expect(r.measurement_url).toMatch(new RegExp(`/api/v1/raw_measurement\\?measurement_uid=${s.uid.replace(".", "\\.")}$`));
    expect(typeof r.scores).toBe("object");
  });

  it("test_list_measurements_slow_order_by_complete: every combination of Explorer's search filters", async () => {
    const axes: [string, string][] = [["probe_cc", "US"], ["since", "2021-01-01"], ["test_name", "web_connectivity"], ["anomaly", "true"], ["domain", "twitter.com"]];
    for (let mask = 0; mask < 32; mask++) {
      const q = new URLSearchParams({ until: "2021-07-11" });
      axes.forEach(([k, v], i) => mask & (1 << i) && q.set(k, v));
      const j = await list(q.toString());
      for (const r of j.results) {
        if (q.has("probe_cc")) expect(r.probe_cc).toBe("US");
        if (q.has("anomaly")) expect(r.anomaly).toBe(true);
        if (q.has("domain")) expect(r.input).toContain("twitter.com");
      }
      // all 32 answer; the US twitter anomalies are in every window that allows them
      if (q.has("probe_cc") && q.has("domain") && q.has("anomaly")) expect(j.results, q.toString()).toHaveLength(2);
    }
  });

  it("test_list_measurements_slow_order_by_group_1 / _2 / _3: one or two filters before 2019", async () => {
    const g1 = ["probe_cc=YT", "probe_asn=AS3352", "test_name=web_connectivity"];
    const g2 = ["anomaly=true", "domain=twitter.com"];
    for (const f of [...g1, ...g2, ...g1.slice(0, 3).flatMap((a) => g2.map((b) => `${a}&${b}`))]) {
      expect((await list(`until=2019-01-01&${f}`)).results, f).toEqual([]);
    }
  });

  it("test_list_measurements_pagination_old / _new: the same page three times", async () => {
    for (const q of ["probe_cc=IE&test_name=web_connectivity&limit=100&offset=100&since=2021-07-09&until=2021-07-10", `probe_cc=IT&test_name=web_connectivity&limit=100&offset=0`]) {
      const pages = [];
      for (let i = 0; i < 3; i++) {
        const j = await list(q);
        delete j.metadata.query_time;
        pages.push(j);
      }
      expect(pages[1]).toEqual(pages[0]);
      expect(pages[2]).toEqual(pages[0]);
    }
  });

  it("test_list_measurements_arbitrary_test_name: an unknown test name finds nothing", async () => {
    const j = await list("test_name=bogus1234");
    delete j.metadata.query_time;
    expect(j).toEqual({ metadata: { count: 0, current_page: 1, limit: 100, next_url: null, offset: 0, pages: 0 }, results: [] });
    // adapted: upstream's literal "BOGUS1234" (upper case) is a 400 here: test names are lower case
    expect((await u.req("GET", "/api/v1/measurements?test_name=BOGUS1234")).status).toBe(400);
  });

  it.each([
    [true, true, true, 2],
    [true, true, false, 4],
    [true, false, true, 3],
    [true, false, false, 9], // 7 in BR, 2 in US
    [false, true, true, 0],
    [false, true, false, 0],
    [false, false, true, 5],
    [false, false, false, 100],
  ])("test_list_measurements_filter_flags_fastpath: anomaly=%s confirmed=%s failure=%s", async (anomaly, confirmed, failure, expected) => {
    const j = await list(`${W}&anomaly=${anomaly}&confirmed=${confirmed}&failure=${failure}&limit=100`);
    for (const r of j.results) expect([r.anomaly, r.confirmed, r.failure]).toEqual([anomaly, confirmed, failure]);
    expect(j.results).toHaveLength(expected);
  });

  it("test_list_measurements_probe_asn", async () => {
    const j = await list("probe_asn=AS5089&since=2019-12-8&until=2021-12-11&limit=50");
    expect(j.results).toHaveLength(50);
    for (const r of j.results) expect(r.probe_asn).toBe("AS5089");
  });

  it("test_list_measurements_failure_true_fastpath / _false_fastpath", async () => {
    for (const failure of [true, false]) {
      const j = await list(`failure=${failure}&${W}&limit=50`);
      expect(j.results.length).toBeGreaterThan(0);
      for (const r of j.results) expect(r.failure).toBe(failure);
    }
  });

  it("test_list_measurements_paging_2: count and pages -1 while pages follow, then the totals", async () => {
    let q = `${W}&test_name=web_connectivity&probe_cc=IE`;
    const seen = new Set<string>();
    for (let page = 1; page <= 5; page++) {
      const j = await list(q);
      const m = j.metadata;
      for (const r of j.results) seen.add(r.measurement_uid);
      expect(m.current_page).toBe(page);
      expect(m.offset).toBe((page - 1) * 100);
      if (m.next_url === null) {
        // deviation (docs/compat.md): upstream's last full page still names a next one, whose
        // empty answer then carries the totals (offset 300, count 300, pages 3); ours knows it is
        // the last page and says so there
        expect(page).toBe(3);
        expect(m.count).toBe(300);
        expect(m.pages).toBe(3);
        break;
      }
      expect(m.count).toBe(-1);
      expect(m.pages).toBe(-1);
      q = m.next_url.split("/api/v1/measurements?")[1];
    }
    expect(seen.size).toBe(300);
  });

  it("test_list_measurements_filter_category_code", async () => {
    const j = await list("since=2021-7-9&until=2021-7-10&category_code=NEWS");
    expect(j.results.map((r) => r.input)).toContain("http://ncac.org/");
  });

  it("test_list_measurements_order: newest first", async () => {
    const j = await list(W);
    expect(j.results).toHaveLength(100);
    const times = j.results.map((r) => Date.parse(r.measurement_start_time));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("test_list_measurements_stunreachability", async () => {
    expect((await list(`test_name=stunreachability&${W}`)).results.length).toBeGreaterThan(2);
  });

  it("test_list_measurements_AS0 / _ZZ: unknown networks and countries are not searchable", async () => {
    for (const q of ["probe_asn=AS0", "probe_cc=ZZ"]) {
      const r = await u.req("GET", `/api/v1/measurements?${q}`);
      // adapted: upstream 403; ours 400 naming the parameter (the request is invalid, not unauthorised)
      expect(r.status, q).toBe(400);
      expect(r.json.parameter).toBe(q.split("=")[0]);
    }
  });

  it.each([
    ["software_version=9.9.9", 0],
    ["software_version=", 100],
    ["software_version=0.7.1", 2],
    ["software_version=0.7.1,0.8.1", 3],
    ["software_version=3.9.2", 100],
    ["test_version=0.4.0", 100],
    ["engine_version=3.9.2", 100],
  ])("test_list_measurements_filter_software/test/engine_version: %s", async (f, expected) => {
    const j = await list(`${W}&${f}`);
    expect(j.results).toHaveLength(expected);
    if (f === "software_version=0.7.1") expect(new Set(j.results.map((r) => r.test_name))).toEqual(new Set(["dnscheck"]));
  });

  it("test_list_measurements_bug_probe1034: by report_id alone, from an okhttp client", async () => {
    const s = sent.find((x) => x.testName === "telegram")!;
    const j = await list(`report_id=${s.reportId}`, { "user-agent": "okhttp" });
    expect(j.results).toHaveLength(1);
  });

  it("test_slow_inexistent_domain", async () => {
    expect((await list("domain=meow.com&until=2019-12-11&limit=50")).results).toEqual([]);
  });
});
