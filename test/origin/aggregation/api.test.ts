import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAggregationQuery } from "../../../origin/src/aggregation/build-query";
import { toCsv } from "../../../origin/src/aggregation/csv";
import { resolveGrain } from "../../../origin/src/aggregation/time-grain";
import { ifNoneMatchHits, windowLifetime } from "../../../origin/src/http/cache-policy";
import { parseInstant } from "../../../origin/src/stats/params";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { insertCitizenlab, insertMsmts, type Msmt } from "../stats/fixtures";

// /api/v1/aggregation on a handful of known rows: response shapes, every parameter's validation,
// CSV, download, cache headers and the time limit. (equivalence.test.ts checks the counts on a
// million synthetic rows.)

const t = (s: string) => new Date(`${s}Z`);
const A = "https://a.example/";
const COMMA = "https://c.example/search?q=a,b";

const ROWS: Msmt[] = [
  // Sunday 2024-03-03 … Saturday 2024-03-09 is one week
  { t: t("2024-03-03T10:15:00"), cc: "IT", asn: 30722, input: A, anomaly: true, blocking_type: "dns" },
  { t: t("2024-03-03T10:45:00"), cc: "IT", asn: 30722, input: A },
  { t: t("2024-03-03T11:00:00"), cc: "IT", asn: 3269, input: A, anomaly: true, confirmed: true, blocking_type: "http-diff" },
  { t: t("2024-03-09T23:59:59"), cc: "IT", asn: 3269, input: COMMA, failure: true },
  { t: t("2024-03-10T00:00:00"), cc: "DE", asn: 3320, input: A, anomaly: true, failure: true, blocking_type: "tcp_ip" },
  { t: t("2024-03-10T08:00:00"), cc: "DE", asn: 3320, test: "telegram", run_link_id: 10001 },
  { t: t("2024-03-20T08:00:00"), cc: "IR", asn: 197207, input: A, anomaly: true, confirmed: true, blocking_type: "dns" },
  { t: t("2024-03-20T09:00:00"), cc: "IR", asn: 197207, input: "https://b.example/", run_link_id: 10002 },
];

let o: InProcessOrigin;

beforeAll(async () => {
  o = await startInProcessOrigin();
  await o.services.db.client.command({ query: "TRUNCATE TABLE citizenlab" });
  await insertMsmts(o.services.db, ROWS);
  await insertCitizenlab(o.services.db, [
    { url: A, cc: "ZZ", category_code: "NEWS" },
    // In Iran's list a.example is filed differently: Iranian measurements count as POLR.
    { url: A, cc: "ir", category_code: "POLR" },
    { url: COMMA, cc: "ZZ", category_code: "SRCH" },
  ]);
});

afterAll(async () => {
  await o?.close();
});

const counts = (anomaly: number, confirmed: number, failure: number, ok: number) => ({
  anomaly_count: anomaly,
  confirmed_count: confirmed,
  failure_count: failure,
  ok_count: ok,
  measurement_count: anomaly + confirmed + failure + ok,
});

async function agg(query: string) {
  const r = await o.get(`/api/v1/aggregation?${query}`);
  expect(r.status, r.text).toBe(200);
  return r;
}

describe("results", () => {
  it("without axes: one object with the five counts and db_stats", async () => {
    const { json } = await agg("");
    expect(json).toMatchObject({ v: 0, dimension_count: 0, result: counts(1, 2, 2, 3) });
    expect(Object.keys(json.db_stats).sort()).toEqual(["bytes", "elapsed_seconds", "row_count", "total_row_count"]);
    expect(json.db_stats.row_count).toBe(8);
  });

  it("one axis: a list ordered by the axis, keys sorted", async () => {
    const { json } = await agg("axis_x=probe_cc");
    expect(json.dimension_count).toBe(1);
    expect(json.result).toEqual([
      { ...counts(0, 0, 1, 1), probe_cc: "DE" },
      { ...counts(0, 1, 0, 1), probe_cc: "IR" },
      { ...counts(1, 1, 1, 1), probe_cc: "IT" },
    ]);
    expect(Object.keys(json.result[0])).toEqual([...Object.keys(json.result[0])].sort());
  });

  it("filters are comma lists (OR inside, AND across); ASNs with or without AS", async () => {
    expect((await agg("probe_cc=IT,DE&probe_asn=AS3269,3320")).json.result).toEqual(counts(0, 1, 2, 1));
    expect((await agg("test_name=telegram")).json.result).toEqual(counts(0, 0, 0, 1));
    expect((await agg("domain=a.example")).json.result).toEqual(counts(1, 2, 1, 1));
    expect((await agg("ooni_run_link_id=10001,10002")).json.result).toEqual(counts(0, 0, 0, 2));
    expect((await agg(`input=${encodeURIComponent(COMMA)}`)).json.result).toEqual(counts(0, 0, 1, 0));
  });

  it("since is inclusive, until exclusive; date-times and zones are understood", async () => {
    expect((await agg("since=2024-03-10&until=2024-03-20")).json.result.measurement_count).toBe(2);
    expect((await agg("since=2024-03-09T23:59:59Z&until=2024-03-10T00:00:00")).json.result.measurement_count).toBe(1);
    // 01:00 in UTC+1 is midnight UTC
    expect((await agg("since=2024-03-10T01:00:00%2B01:00&until=2024-03-11")).json.result.measurement_count).toBe(2);
  });

  it("time axis: hours as YYYY-MM-DDTHH:MM:SSZ, days and Sunday weeks as YYYY-MM-DD", async () => {
    const hours = await agg("axis_x=measurement_start_day&since=2024-03-03&until=2024-03-04&time_grain=hour");
    expect(hours.json.result.map((r: any) => [r.measurement_start_day, r.measurement_count])).toEqual([
      ["2024-03-03T10:00:00Z", 2],
      ["2024-03-03T11:00:00Z", 1],
    ]);
    const weeks = await agg("axis_x=measurement_start_day&since=2024-03-01&until=2024-03-25&time_grain=week");
    expect(weeks.json.result.map((r: any) => [r.measurement_start_day, r.measurement_count])).toEqual([
      ["2024-03-03", 4],
      ["2024-03-10", 2],
      ["2024-03-17", 2],
    ]);
    // auto picks the finest allowed grain: 3 days → hour, 22 days → day, 2 years → day
    const auto = await agg("axis_x=measurement_start_day&since=2024-03-09&until=2024-03-12");
    expect(auto.json.result[0].measurement_start_day).toBe("2024-03-09T23:00:00Z");
    const autoDay = await agg("axis_x=measurement_start_day&since=2024-03-01&until=2024-03-23");
    expect(autoDay.json.result.map((r: any) => r.measurement_start_day)).toEqual(["2024-03-03", "2024-03-09", "2024-03-10", "2024-03-20"]);
    const years = await agg("axis_x=measurement_start_day&since=2023-01-01&until=2025-01-01&time_grain=year");
    expect(years.json.result).toEqual([{ ...counts(1, 2, 2, 3), measurement_start_day: "2024-01-01" }]);
  });

  it("two axes; category_code uses the probe country's list before the global list", async () => {
    const { json } = await agg("axis_x=category_code&axis_y=probe_cc");
    expect(json.dimension_count).toBe(2);
    expect(json.result.map((r: any) => [r.category_code, r.probe_cc, r.measurement_count])).toEqual([
      ["NEWS", "DE", 1],
      ["NEWS", "IT", 3],
      ["POLR", "IR", 1],
      ["SRCH", "IT", 1],
    ]);
    expect((await agg("category_code=POLR")).json.result.measurement_count).toBe(1);
    expect((await agg("category_code=NEWS,SRCH&probe_cc=IT")).json.result.measurement_count).toBe(4);
  });

  it("blocking_type axis", async () => {
    const { json } = await agg("axis_x=blocking_type&test_name=web_connectivity");
    expect(json.result.map((r: any) => [r.blocking_type, r.measurement_count])).toEqual([
      ["", 3],
      ["dns", 2],
      ["http-diff", 1],
      ["tcp_ip", 1],
    ]);
  });

  it("empty parameters count as absent", async () => {
    const { json } = await agg("probe_cc=&axis_y=&time_grain=&download=&test_name=");
    expect(json.result).toEqual(counts(1, 2, 2, 3));
  });

  it("CSV: sorted header, CRLF lines, same numbers as JSON, quoting where needed", async () => {
    const r = await agg("axis_x=input&format=CSV");
    expect(r.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(r.headers.get("content-disposition")).toBeNull();
    expect(r.text).toBe(
      [
        "anomaly_count,confirmed_count,failure_count,input,measurement_count,ok_count",
        "0,0,0,,1,1",
        "1,2,1,https://a.example/,5,1",
        "0,0,0,https://b.example/,1,1",
        `0,0,1,"${COMMA}",1,0`,
        "",
      ].join("\r\n"),
    );
    const zero = await agg("format=csv");
    expect(zero.text).toBe("anomaly_count,confirmed_count,failure_count,measurement_count,ok_count\r\n1,2,2,8,3\r\n");
  });

  it("download=true asks for a file", async () => {
    expect((await agg("format=CSV&download=true")).headers.get("content-disposition")).toBe(
      "attachment; filename=ooni-aggregate-data.csv",
    );
    expect((await agg("download=true")).headers.get("content-disposition")).toBe("attachment; filename=ooni-aggregate-data.json");
  });

  it("values never reach the SQL text; hostile input is just a value", async () => {
    const evil = "x' OR 1=1 --";
    const { sql, params } = buildAggregationQuery({
      axes: ["probe_cc"],
      grain: null,
      filters: { probeCc: ["IT"], probeAsn: [1], testName: ["t"], domain: ["d.example"], input: evil, categoryCode: ["NEWS"], runLinkIds: ["1"], since: null, until: null },
    });
    expect(sql).not.toContain(evil);
    expect(sql).not.toContain("d.example");
    expect(params.input).toBe(evil);
    expect((await agg(`input=${encodeURIComponent(evil)}`)).json.result.measurement_count).toBe(0);
  });
});

describe("invalid parameters", () => {
  it.each([
    ["probe_cc=it", "probe_cc"],
    ["probe_cc=ITA", "probe_cc"],
    ["probe_cc=IT,", "probe_cc"],
    ["probe_asn=ASX", "probe_asn"],
    ["probe_asn=99999999999", "probe_asn"],
    ["test_name=Web_Connectivity", "test_name"],
    ["domain=not%20a%20domain", "domain"],
    ["domain=a.example,,b.example", "domain"],
    ["category_code=news", "category_code"],
    ["ooni_run_link_id=abc", "ooni_run_link_id"],
    ["ooni_run_link_id=99999999999999999999", "ooni_run_link_id"],
    ["input=a%0Ab", "input"],
    ["since=yesterday", "since"],
    ["since=2024-13-01", "since"],
    ["until=2024-02-30", "until"],
    ["until=9999-12-31T23:59:59-14:00", "until"], // past year 9999 in UTC: was a 500 (found by fuzzing)
    ["since=9999-12-31T23:00-0100", "since"],
    ["since=2024-03-10&until=2024-03-10", "until"],
    ["since=2024-03-10&until=2024-03-01", "until"],
    ["time_grain=minute", "time_grain"],
    ["axis_x=measurement_start_day&since=2024-01-01&until=2024-03-01&time_grain=hour", "time_grain"],
    ["axis_x=measurement_start_day&since=2023-01-01&until=2023-06-01&time_grain=year", "time_grain"],
    ["axis_x=measurement_start_day&until=2024-03-01", "since"],
    ["axis_y=measurement_start_day&since=2024-03-01", "until"],
    ["axis_x=country", "axis_x"],
    ["axis_y=probe_cc&axis_x=probe_cc", "axis_y"],
    ["format=XML", "format"],
    ["download=yes", "download"],
  ])("%s → 400 naming %s", async (query, parameter) => {
    const r = await o.get(`/api/v1/aggregation?${query}`);
    expect(r.status, r.text).toBe(400);
    expect(r.json).toMatchObject({ parameter, in: "query" });
    expect(r.json.error).toContain(parameter);
    expect(r.headers.get("cache-control")).toBe("no-store");
  });
});

describe("caching", () => {
  it("a window that ended long ago is cacheable for a day, with an ETag", async () => {
    const r = await agg("since=2024-03-01&until=2024-04-01&axis_x=probe_cc");
    expect(r.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(r.headers.get("etag")).toMatch(/^W\/"[\w-]+"$/);
  });

  it("open or recent windows are cacheable briefly", async () => {
    expect((await agg("since=2024-03-01")).headers.get("cache-control")).toBe("public, max-age=300");
    expect((await agg("")).headers.get("cache-control")).toBe("public, max-age=300");
    const soon = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect((await agg(`until=${soon}`)).headers.get("cache-control")).toBe("public, max-age=300");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect((await agg(`until=${yesterday}`)).headers.get("cache-control")).toBe("public, max-age=300");
  });

  it("If-None-Match with the ETag gets a 304 (the tag ignores db_stats timings)", async () => {
    const q = "/api/v1/aggregation?since=2024-03-01&until=2024-04-01&axis_x=probe_cc";
    const first = await o.get(q);
    const etag = first.headers.get("etag")!;
    const second = await o.get(q);
    expect(second.headers.get("etag")).toBe(etag);
    const revalidated = await o.get(q, { "If-None-Match": `"other", ${etag}` });
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe("");
    expect(revalidated.headers.get("cache-control")).toBe("public, max-age=86400");
    expect((await o.get(q, { "If-None-Match": '"other"' })).status).toBe(200);
    // CSV has no timings: a strong tag of the body
    const csv = await o.get(`${q}&format=CSV`);
    expect(csv.headers.get("etag")).toMatch(/^"[\w-]+"$/);
    expect((await o.get(`${q}&format=CSV`, { "If-None-Match": csv.headers.get("etag")! })).status).toBe(304);
  });

  it("settings change the lifetimes", async () => {
    const custom = o.withConfig((c) => ({ ...c, explorer: { ...c.explorer, cache: { historicalMaxAgeS: 7 * 86400, recentMaxAgeS: 60, settleS: 0 } } }));
    const past = await custom.get("/api/v1/aggregation?until=2024-04-01");
    expect(past.headers.get("cache-control")).toBe("public, max-age=604800");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect((await custom.get(`/api/v1/aggregation?until=${yesterday}`)).headers.get("cache-control")).toBe("public, max-age=604800");
    expect((await custom.get("/api/v1/aggregation")).headers.get("cache-control")).toBe("public, max-age=60");
  });
});

describe("time limit", () => {
  it("a query stopped by max_execution_time is a 504 JSON error, not cacheable", async () => {
    const strict = o.withConfig((c) => ({ ...c, explorer: { ...c.explorer, queryTimeoutS: 0.000001 } }));
    for (const q of ["", "axis_x=probe_cc&axis_y=category_code", "format=CSV"]) {
      const r = await strict.get(`/api/v1/aggregation?${q}`);
      expect(r.status).toBe(504);
      expect(r.json).toMatchObject({ limit_s: 0.000001 });
      expect(r.headers.get("cache-control")).toBe("no-store");
    }
    expect((await o.get("/api/v1/aggregation")).status).toBe(200);
  });
});

describe("units", () => {
  it("grain rules by range length", () => {
    const since = new Date("2024-01-01T00:00:00Z");
    const after = (days: number) => new Date(since.getTime() + days * 86_400_000);
    expect(resolveGrain("auto", since, after(7))).toEqual({ grain: "hour" });
    expect(resolveGrain("hour", since, after(7.01))).toHaveProperty("error");
    expect(resolveGrain("auto", since, after(7.01))).toEqual({ grain: "day" });
    expect(resolveGrain("week", since, after(30))).toEqual({ grain: "week" });
    expect(resolveGrain("month", since, after(30))).toHaveProperty("error");
    expect(resolveGrain("month", since, after(365))).toEqual({ grain: "month" });
    expect(resolveGrain("year", since, after(365))).toHaveProperty("error");
    expect(resolveGrain("year", since, after(366))).toEqual({ grain: "year" });
  });

  it("dates: zones, fractions, calendar checks", () => {
    expect(parseInstant("2024-03-10")?.toISOString()).toBe("2024-03-10T00:00:00.000Z");
    expect(parseInstant("2024-03-10 05:06")?.toISOString()).toBe("2024-03-10T05:06:00.000Z");
    expect(parseInstant("2024-03-10T05:06:07.5-0130")?.toISOString()).toBe("2024-03-10T06:36:07.500Z");
    expect(parseInstant("2024-02-29")).not.toBeNull();
    expect(parseInstant("2023-02-29")).toBeNull();
    expect(parseInstant("2024-03-10T25:00")).toBeNull();
    expect(parseInstant("10/03/2024")).toBeNull();
    // one-digit month and day, as the legacy API accepted (api/tests: since=2021-7-9)
    expect(parseInstant("2021-7-9")?.toISOString()).toBe("2021-07-09T00:00:00.000Z");
    expect(parseInstant("2019-12-8 5:06")).toBeNull();
    expect(parseInstant("2019-12-8T05:06Z")?.toISOString()).toBe("2019-12-08T05:06:00.000Z");
    expect(parseInstant("2021-7-39")).toBeNull();
    expect(parseInstant("2021-123-1")).toBeNull();
    // Within year 9999 in UTC only: later instants are not valid ClickHouse DateTime parameters.
    expect(parseInstant("9999-12-31T23:59:59Z")).not.toBeNull();
    expect(parseInstant("9999-12-31T23:59:59-14:00")).toBeNull();
  });

  it("cache policy: the settle boundary and If-None-Match forms", () => {
    const s = { historicalMaxAgeS: 86400, recentMaxAgeS: 300, settleS: 72 * 3600 };
    const now = new Date("2024-06-10T12:00:00Z");
    expect(windowLifetime(new Date("2024-06-07T12:00:00Z"), now, s)).toEqual({ maxAgeS: 86400, reason: "historical" });
    expect(windowLifetime(new Date("2024-06-07T12:00:01Z"), now, s)).toEqual({ maxAgeS: 300, reason: "recent" });
    expect(windowLifetime(null, now, s).reason).toBe("recent");
    expect(ifNoneMatchHits('"a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('W/"a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('"a"', 'W/"a"')).toBe(true);
    expect(ifNoneMatchHits('"b" , "a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits("*", '"a"')).toBe(true);
    expect(ifNoneMatchHits('"ab"', '"a"')).toBe(false);
    expect(ifNoneMatchHits(undefined, '"a"')).toBe(false);
  });

  it("CSV quoting", () => {
    expect(toCsv(["a", "b"], [{ a: 'say "hi"', b: "x\ny" }, { a: 1, b: null }])).toBe('a,b\r\n"say ""hi""","x\ny"\r\n1,\r\n');
  });
});
