import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fastpathRow, type Row } from "../measurements/rows";
import { startUpstream, type Upstream } from "./support";

// ooni/backend ooniapi/services/oonimeasurements/tests/test_aggregation.py (32d8349d), as our
// tests: the behaviours, on rows written here (upstream's expected numbers come from its fixture
// dump, so the counts below are this file's own).

let u: Upstream;
const day = (d: string, h: number) => new Date(`${d}T${String(h).padStart(2, "0")}:00:00Z`);
const ROWS: Row[] = [
  { id: "c1", t: day("2021-07-09", 2), cc: "CH", asn: 3303, input: "https://twitter.com/", anomaly: true },
  { id: "c2", t: day("2021-07-09", 3), cc: "CH", asn: 3303, input: "https://twitter.com/" },
  { id: "c3", t: day("2021-07-09", 4), cc: "CH", asn: 3303, input: "https://www.facebook.com/", failure: true },
  { id: "c4", t: day("2021-07-10", 5), cc: "CH", asn: 3303, input: "https://twitter.com/", anomaly: true, confirmed: true },
  { id: "i1", t: day("2021-07-09", 9), cc: "IT", asn: 30722, input: "https://twitter.com/" },
  { id: "i2", t: day("2021-07-09", 9), cc: "IT", asn: 3269, test: "psiphon" },
  { id: "r1", t: day("2021-07-09", 12), cc: "RU", asn: 12389, test: "dnscheck", input: "https://dns.google/dns-query" },
];

beforeAll(async () => {
  u = await startUpstream();
  const db = u.origin.services.db;
  await db.client.insert({ table: "fastpath", values: ROWS.map((r) => ({ ...fastpathRow(r), domain: r.input ? new URL(r.input).hostname : "" })), format: "JSONEachRow" });
});
afterAll(async () => {
  await u?.close();
});

const KEYS = ["anomaly_count", "confirmed_count", "failure_count", "measurement_count", "ok_count"];
const agg = async (q: string) => {
  const r = await u.req("GET", `/api/v1/aggregation?${q}`);
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  const { db_stats: _d, ...rest } = r.json;
  return rest;
};

describe("aggregation", () => {
  it("test_aggregation_no_axis_with_caching: 0 dimensions, the five counts", async () => {
    const j = await agg("probe_cc=CH&probe_asn=AS3303&since=2021-07-01&until=2021-08-01");
    expect(j.dimension_count).toBe(0);
    expect(j.v).toBe(0);
    expect(Object.keys(j.result).sort()).toEqual(KEYS);
    expect(j.result).toEqual({ anomaly_count: 1, confirmed_count: 1, failure_count: 1, measurement_count: 4, ok_count: 1 });
  });

  it("test_aggregation_no_axis_csv / _csv_dload: CSV header; a download only when asked", async () => {
    const q = "probe_cc=CH&probe_asn=AS3303&since=2021-07-01&until=2021-08-01&format=CSV";
    const r = await u.req("GET", `/api/v1/aggregation?${q}`);
    expect(r.headers.get("content-type")).toMatch(/text\/csv/);
    expect(r.text.split("\r")[0]).toBe("anomaly_count,confirmed_count,failure_count,measurement_count,ok_count");
    expect(r.headers.get("content-disposition")).toBeNull();
    const d = await u.req("GET", `/api/v1/aggregation?${q}&download=true`);
    expect(d.headers.get("content-disposition")).toBe("attachment; filename=ooni-aggregate-data.csv");
  });

  it("test_aggregation_no_axis_filter_multi_*: comma lists of domain, probe_asn, probe_cc, test_name", async () => {
    const count = async (q: string) => (await agg(`since=2021-07-01&until=2021-08-01&${q}`)).result.measurement_count;
    expect(await count("domain=twitter.com,www.facebook.com")).toBe(5);
    expect(await count("probe_asn=AS3303,30722")).toBe(5);
    expect(await count("probe_cc=IT,RU")).toBe(3);
    expect(await count("test_name=psiphon,dnscheck")).toBe(2);
  });

  it("test_aggregation_x_axis_only: one row per day", async () => {
    const j = await agg("probe_cc=CH&probe_asn=AS3303&since=2021-07-09&until=2021-07-11&time_grain=day&axis_x=measurement_start_day");
    expect(j).toEqual({
      dimension_count: 1,
      result: [
        { anomaly_count: 1, confirmed_count: 0, failure_count: 1, measurement_count: 3, measurement_start_day: "2021-07-09", ok_count: 1 },
        { anomaly_count: 0, confirmed_count: 1, failure_count: 0, measurement_count: 1, measurement_start_day: "2021-07-10", ok_count: 0 },
      ],
      v: 0,
    });
  });

  it("test_aggregation_x_axis_only_invalid_range / _time_grain_too_small / _too_large / _without_since: 400", async () => {
    for (const q of [
      "since=2022-07-09&until=2021-07-11&time_grain=day&axis_x=measurement_start_day",
      "since=2020-07-09&until=2022-07-11&time_grain=hour&axis_x=measurement_start_day",
      "since=2022-07-09&until=2022-07-11&time_grain=year&axis_x=measurement_start_day",
      "probe_cc=CH&probe_asn=AS3303&until=2021-07-10&axis_x=measurement_start_day",
    ]) {
      const r = await u.req("GET", `/api/v1/aggregation?${q}`);
      expect(r.status, q).toBe(400);
      expect(typeof r.json.error, q).toBe("string"); // deviation (shape only): upstream {"msg": …, "v": 0}
    }
  });

  it("test_aggregation_x_axis_only_hour: hourly buckets as date-times", async () => {
    const j = await agg("probe_cc=CH&since=2021-07-09&until=2021-07-10&time_grain=hour&axis_x=measurement_start_day");
    expect(j.result.map((x: { measurement_start_day: string }) => x.measurement_start_day)).toEqual(["2021-07-09T02:00:00Z", "2021-07-09T03:00:00Z", "2021-07-09T04:00:00Z"]);
  });

  it("test_aggregation_x_axis_only_csv: a CSV row per bucket", async () => {
    const r = await u.req("GET", "/api/v1/aggregation?probe_cc=CH&since=2021-07-09&until=2021-07-10&time_grain=hour&format=CSV&axis_x=measurement_start_day");
    expect(r.status).toBe(200);
    expect(r.text.replace(/\r/g, "")).toBe(
      [
        "anomaly_count,confirmed_count,failure_count,measurement_count,measurement_start_day,ok_count",
        "1,0,0,1,2021-07-09T02:00:00Z,0",
        "0,0,0,1,2021-07-09T03:00:00Z,1",
        "0,0,1,1,2021-07-09T04:00:00Z,0",
        "",
      ].join("\n"),
    );
  });

  it("test_aggregation_x_axis_y_axis / _foo: two dimensions; the axis column is in each row", async () => {
    const j = await agg("since=2021-07-09&until=2021-07-10&axis_x=measurement_start_day&axis_y=probe_cc&test_name=web_connectivity");
    expect(j.dimension_count).toBe(2);
    // one day: time_grain auto is hour, so CH at 02, 03 and 04 h and IT at 09 h
    expect(j.result).toHaveLength(4);
    const one = await agg("test_name=web_connectivity&since=2021-07-09&axis_x=probe_cc&until=2021-07-10");
    expect(Object.keys(one.result[0]).sort()).toEqual([...KEYS, "probe_cc"].sort());
  });

  it("test_aggregation_x_axis_y_axis_are_the_same: refused", async () => {
    const r = await u.req("GET", "/api/v1/aggregation?since=2021-07-09&until=2021-07-10&axis_x=probe_cc&axis_y=probe_cc");
    // deviation: upstream answers 200 {"msg": "Axis X and Y cannot be the same", "v": 0}; ours is an error status
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/differ|same/i);
  });

  it("test_aggregation_input: one input, matched exactly", async () => {
    const j = await agg("since=2021-07-09&until=2021-07-10&input=https://twitter.com/");
    expect(j).toEqual({ dimension_count: 0, result: { anomaly_count: 1, confirmed_count: 0, failure_count: 0, measurement_count: 3, ok_count: 2 }, v: 0 });
  });

  it("test_aggregation_psiphon: a test without input", async () => {
    const j = await agg("probe_cc=IT&test_name=psiphon&since=2021-07-09&until=2021-07-10");
    expect(j.result.measurement_count).toBe(1);
  });

  it("test_aggregation_probe_asn_result_wont_crash: probe_asn on an axis is an integer", async () => {
    const j = await agg("since=2021-07-09&until=2021-07-10&axis_x=measurement_start_day&axis_y=probe_asn");
    expect(j.dimension_count).toBe(2);
    for (const x of j.result) expect(Number.isInteger(x.probe_asn)).toBe(true);
  });
});
