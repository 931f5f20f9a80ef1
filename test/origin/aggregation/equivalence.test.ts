import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedFastpath } from "../../../origin/src/dev/seed-fastpath";
import type { World } from "../../../origin/src/dev/synthetic-world";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";

// /api/v1/aggregation against direct SELECT count() queries over a million synthetic rows, for
// many filter × axis × grain combinations; and the CSV of every combination against its JSON.
// The expected counts come from SQL written here independently of the query builder: plain
// WHERE conditions, time buckets as explicit [start, end) ranges, and the category rule as IN
// sub-queries instead of the builder's joins.

const ROWS = 1_000_000;
const END = new Date("2025-01-01T00:00:00Z");

let o: InProcessOrigin;
let world: World;

beforeAll(async () => {
  o = await startInProcessOrigin();
  // Start from an empty test list: the seed writes its own (metadata: true) only into empty tables.
  await o.services.db.client.command({ query: "TRUNCATE TABLE citizenlab" });
  ({ world } = await seedFastpath(o.services.db, { rows: ROWS, days: 400, seed: 42, end: END, metadata: true }));
}, 300_000);

afterAll(async () => {
  await o?.close();
});

type Params = Record<string, string>;
type Cond = { sql: string; params: Record<string, unknown> };
type Row = Record<string, string | number>;

const COUNT_SQL = `
  countIf(anomaly = 't' AND confirmed = 'f' AND msm_failure = 'f') AS anomaly_count,
  countIf(confirmed = 't' AND msm_failure = 'f') AS confirmed_count,
  countIf(msm_failure = 't') AS failure_count,
  countIf(anomaly = 'f' AND confirmed = 'f' AND msm_failure = 'f') AS ok_count,
  count() AS measurement_count`;

let seq = 0;
const p = (v: unknown, type: string) => {
  const name = `p${seq++}`;
  return { ref: `{${name}:${type}}`, bind: { [name]: v } };
};

/** The measurement's category: its country list's entry, else the global list's. */
function categoryIs(codes: string[]): Cond {
  const c = p(codes, "Array(String)");
  return {
    sql: `((input, probe_cc) IN (SELECT url, upper(cc) FROM citizenlab WHERE upper(cc) != 'ZZ' AND category_code IN ${c.ref})
      OR ((input, probe_cc) NOT IN (SELECT url, upper(cc) FROM citizenlab WHERE upper(cc) != 'ZZ')
          AND input IN (SELECT url FROM citizenlab WHERE upper(cc) = 'ZZ' AND category_code IN ${c.ref})))`,
    params: c.bind,
  };
}

const hasCategory: Cond = {
  sql: `((input, probe_cc) IN (SELECT url, upper(cc) FROM citizenlab WHERE upper(cc) != 'ZZ')
    OR input IN (SELECT url FROM citizenlab WHERE upper(cc) = 'ZZ'))`,
  params: {},
};

function utc(s: string): Date {
  return new Date(s.length === 10 ? `${s}T00:00:00Z` : s);
}

function filterConds(q: Params): Cond[] {
  const conds: Cond[] = [];
  const list = (k: string) => q[k]!.split(",");
  const add = (col: string, values: unknown, type: string) => {
    const x = p(values, type);
    conds.push({ sql: `has(${x.ref}, ${col})`, params: x.bind });
  };
  if (q.probe_cc) add("probe_cc", list("probe_cc"), "Array(String)");
  if (q.probe_asn) add("probe_asn", list("probe_asn").map((a) => Number(a.replace("AS", ""))), "Array(UInt32)");
  if (q.test_name) add("test_name", list("test_name"), "Array(String)");
  if (q.domain) add("domain", list("domain"), "Array(String)");
  if (q.input) {
    const x = p(q.input, "String");
    conds.push({ sql: `input = ${x.ref}`, params: x.bind });
  }
  if (q.ooni_run_link_id) {
    const x = p(list("ooni_run_link_id"), "Array(String)");
    conds.push({ sql: `has(${x.ref}, toString(assumeNotNull(ooni_run_link_id))) AND ooni_run_link_id IS NOT NULL`, params: x.bind });
  }
  if (q.category_code) conds.push(categoryIs(list("category_code")));
  if (q.since) {
    const x = p(Math.floor(utc(q.since).getTime() / 1000), "Int64");
    conds.push({ sql: `toUnixTimestamp(measurement_start_time) >= ${x.ref}`, params: x.bind });
  }
  if (q.until) {
    const x = p(Math.floor(utc(q.until).getTime() / 1000), "Int64");
    conds.push({ sql: `toUnixTimestamp(measurement_start_time) < ${x.ref}`, params: x.bind });
  }
  return conds;
}

function bucketEnd(start: Date, grain: string): Date {
  const d = new Date(start);
  if (grain === "hour") d.setUTCHours(d.getUTCHours() + 1);
  else if (grain === "day") d.setUTCDate(d.getUTCDate() + 1);
  else if (grain === "week") d.setUTCDate(d.getUTCDate() + 7);
  else if (grain === "month") d.setUTCMonth(d.getUTCMonth() + 1);
  else d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d;
}

/** The condition selecting one result row's group. */
function groupConds(row: Row, axes: string[], grain: string): Cond[] {
  return axes.map((axis) => {
    const v = row[axis]!;
    if (axis === "measurement_start_day") {
      const start = utc(String(v));
      const a = p(start.getTime() / 1000, "Int64");
      const b = p(bucketEnd(start, grain).getTime() / 1000, "Int64");
      return {
        sql: `toUnixTimestamp(measurement_start_time) >= ${a.ref} AND toUnixTimestamp(measurement_start_time) < ${b.ref}`,
        params: { ...a.bind, ...b.bind },
      };
    }
    if (axis === "category_code") return categoryIs([String(v)]);
    const x = p(v, axis === "probe_asn" ? "UInt32" : "String");
    return { sql: `${axis} = ${x.ref}`, params: x.bind };
  });
}

async function direct(conds: Cond[]): Promise<Row> {
  const where = conds.length ? `WHERE ${conds.map((c) => `(${c.sql})`).join(" AND ")}` : "";
  const r = await o.services.db.client.query({
    query: `SELECT ${COUNT_SQL} FROM fastpath ${where}`,
    query_params: Object.assign({}, ...conds.map((c) => c.params)),
    format: "JSONEachRow",
  });
  return (await r.json<Row>())[0]!;
}

async function distinctGroups(conds: Cond[], axes: string[]): Promise<number> {
  const where = conds.length ? `WHERE ${conds.map((c) => `(${c.sql})`).join(" AND ")}` : "";
  const r = await o.services.db.client.query({
    query: `SELECT uniqExact(tuple(${axes.join(", ")})) AS n FROM fastpath ${where}`,
    query_params: Object.assign({}, ...conds.map((c) => c.params)),
    format: "JSONEachRow",
  });
  return (await r.json<{ n: number }>())[0]!.n;
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  return rows;
}

const COUNTS = ["anomaly_count", "confirmed_count", "failure_count", "ok_count", "measurement_count"];

/** Combinations: filters × axes (× grain for the time axis). */
function combinations(): { q: Params; axes: string[]; grain: string }[] {
  const us = world.countries.find((c) => c.cc === "US")!;
  const windows = [
    // `auto` is the finest grain the range allows
    { since: "2024-12-20", until: "2024-12-23", grains: ["hour", "day"], auto: "hour" },
    { since: "2024-12-01T06:30:00Z", until: "2024-12-21", grains: ["day", "week"], auto: "day" },
    { since: "2024-06-01", until: "2024-12-15", grains: ["week", "month"], auto: "day" },
    { since: "2023-11-25", until: "2025-01-01", grains: ["month", "year"], auto: "day" },
  ];
  const filters: Params[] = [
    {},
    { probe_cc: "IR" },
    { probe_cc: "RU,CN,IR", test_name: "web_connectivity" },
    { test_name: "telegram,signal,whatsapp,facebook_messenger" },
    { probe_asn: `AS${us.asns[0]},${us.asns[1]}` },
    { domain: "twitter.com,www.facebook.com" },
    { input: "https://twitter.com/" },
    { category_code: "NEWS" },
    { category_code: "ANON,HUMR", probe_cc: "IR,CN" },
    { ooni_run_link_id: "10001,10002" },
    { since: "2024-10-01", until: "2024-11-01", probe_cc: "US,DE" },
  ];
  const axes: string[][] = [
    [],
    ["probe_cc"],
    ["probe_asn"],
    ["test_name"],
    ["domain"],
    ["blocking_type"],
    ["category_code"],
    ["probe_cc", "test_name"],
    ["category_code", "probe_cc"],
    ["input"],
  ];
  const out: { q: Params; axes: string[]; grain: string }[] = [];
  // every filter with a rotating pair of non-time axis sets
  filters.forEach((f, i) => {
    out.push({ q: f, axes: axes[i % axes.length]!, grain: "" });
    out.push({ q: f, axes: axes[(i + 3) % axes.length]!, grain: "" });
  });
  // every axis set unfiltered
  for (const a of axes) out.push({ q: {}, axes: a, grain: "" });
  // time axes: each window and allowed grain, alone and with a second axis or a filter
  windows.forEach((w, i) => {
    for (const grain of w.grains) {
      const base = { since: w.since, until: w.until, time_grain: grain };
      out.push({ q: base, axes: ["measurement_start_day"], grain });
      out.push({ q: { ...base, ...filters[(i + 1) % filters.length] }, axes: ["measurement_start_day", "probe_cc"], grain });
      out.push({ q: { ...base, test_name: "web_connectivity" }, axes: ["blocking_type", "measurement_start_day"], grain });
    }
  });
  // and "auto" on each window
  for (const w of windows) out.push({ q: { since: w.since, until: w.until, time_grain: "auto" }, axes: ["measurement_start_day"], grain: w.auto });
  return out;
}

describe(`aggregation over ${ROWS.toLocaleString("en")} synthetic rows`, () => {
  it("the seed wrote the rows and a test list", async () => {
    expect((await direct([])).measurement_count).toBe(ROWS);
    const r = await o.services.db.client.query({ query: "SELECT count() AS n FROM citizenlab", format: "JSONEachRow" });
    expect((await r.json<{ n: number }>())[0]!.n).toBeGreaterThan(1000);
  });

  it("matches direct SELECT count() for every combination, and CSV matches JSON", async () => {
    const combos = combinations();
    expect(combos.length).toBeGreaterThanOrEqual(60);
    let groupsChecked = 0;
    for (const { q, axes, grain } of combos) {
      const qs = new URLSearchParams({ ...q, ...(axes[0] ? { axis_x: axes[0] } : {}), ...(axes[1] ? { axis_y: axes[1] } : {}) });
      const label = `?${qs}`;
      const json = await o.get(`/api/v1/aggregation?${qs}`);
      expect(json.status, `${label}: ${json.text}`).toBe(200);
      const rows: Row[] = axes.length ? json.json.result : [json.json.result];
      expect(json.json.dimension_count, label).toBe(axes.length);

      const filters = filterConds(q);
      // Grouping by category leaves out measurements of URLs in no test list.
      if (axes.includes("category_code") && !q.category_code) filters.push(hasCategory);

      // totals over all groups = one direct count
      const total = await direct(filters);
      for (const k of COUNTS) expect(rows.reduce((s, r) => s + Number(r[k]), 0), `${label} ${k}`).toBe(total[k]);

      // as many groups as distinct values
      if (axes.length && !axes.includes("measurement_start_day") && !axes.includes("category_code")) {
        expect(rows.length, `${label} groups`).toBe(await distinctGroups(filters, axes));
      }

      // first, middle and last groups, each against its own direct count
      const picks = [...new Set([0, rows.length >> 1, rows.length - 1])].filter((i) => i >= 0 && i < rows.length);
      for (const i of axes.length ? picks : []) {
        const expected = await direct([...filters, ...groupConds(rows[i]!, axes, grain)]);
        for (const k of COUNTS) expect(rows[i]![k], `${label} group ${JSON.stringify(rows[i])} ${k}`).toBe(expected[k]);
        groupsChecked++;
      }

      // the CSV of the same query says the same
      const csv = await o.get(`/api/v1/aggregation?${qs}&format=CSV`);
      expect(csv.status, label).toBe(200);
      const [header, ...lines] = parseCsv(csv.text);
      expect(header, label).toEqual([...COUNTS, ...axes].sort());
      expect(lines.length, label).toBe(rows.length);
      lines.forEach((line, i) => {
        expect(Object.fromEntries(header!.map((h, k) => [h, line[k]])), label).toEqual(
          Object.fromEntries(header!.map((h) => [h, String(rows[i]![h])])),
        );
      });
    }
    expect(groupsChecked).toBeGreaterThan(100);
  }, 600_000);
});
