import { chDateTime } from "../stats/params";
import type { Grain } from "./time-grain";

// Turns validated aggregation parameters into one parameterized SELECT. Only identifiers and
// expressions from the whitelists below are ever written into the SQL; every value the user
// sent travels as a {name:Type} query parameter.

export const AXES = [
  "blocking_type",
  "category_code",
  "domain",
  "input",
  "measurement_start_day",
  "probe_asn",
  "probe_cc",
  "test_name",
] as const;
export type Axis = (typeof AXES)[number];

export interface AggregationFilters {
  probeCc: string[];
  probeAsn: number[];
  testName: string[];
  domain: string[];
  input: string | null;
  categoryCode: string[];
  runLinkIds: string[];
  since: Date | null;
  until: Date | null;
}

export interface AggregationSpec {
  filters: AggregationFilters;
  axes: Axis[];
  /** Required when an axis is measurement_start_day. */
  grain: Grain | null;
}

const GRAIN_EXPR: Record<Grain, string> = {
  hour: "toStartOfHour(measurement_start_time, 'UTC')",
  day: "toDate(measurement_start_time, 'UTC')",
  // Sunday-start weeks (mode 0), as the legacy API and Explorer's charts have them.
  week: "toStartOfWeek(measurement_start_time, 0, 'UTC')",
  month: "toStartOfMonth(measurement_start_time, 'UTC')",
  year: "toStartOfYear(measurement_start_time, 'UTC')",
};

// A measurement's category: its URL's entry in the probe country's test list, else in the global
// list. One category per measurement, so a URL present in several lists is counted once (the
// legacy plain join counted it once per list).
const CATEGORY_JOINS = `
LEFT JOIN (
  SELECT url, upper(cc) AS list_cc, any(category_code) AS category_code
  FROM citizenlab WHERE upper(cc) != 'ZZ' GROUP BY url, list_cc
) AS cl_country ON cl_country.url = fastpath.input AND cl_country.list_cc = fastpath.probe_cc
LEFT JOIN (
  SELECT url, any(category_code) AS category_code
  FROM citizenlab WHERE upper(cc) = 'ZZ' GROUP BY url
) AS cl_global ON cl_global.url = fastpath.input`;
const CATEGORY_EXPR = "if(cl_country.category_code != '', cl_country.category_code, cl_global.category_code)";

function axisExpr(axis: Axis, grain: Grain | null): string {
  switch (axis) {
    case "measurement_start_day":
      return GRAIN_EXPR[grain ?? "day"];
    case "category_code":
      return CATEGORY_EXPR;
    default:
      // The remaining axes are fastpath columns of the same name.
      return `fastpath.${axis}`;
  }
}

export const COUNT_COLUMNS = ["anomaly_count", "confirmed_count", "failure_count", "ok_count", "measurement_count"] as const;

const COUNTS = `
  countIf(anomaly = 't' AND confirmed = 'f' AND msm_failure = 'f') AS anomaly_count,
  countIf(confirmed = 't' AND msm_failure = 'f') AS confirmed_count,
  countIf(msm_failure = 't') AS failure_count,
  countIf(anomaly = 'f' AND confirmed = 'f' AND msm_failure = 'f') AS ok_count,
  count() AS measurement_count`;

export function buildAggregationQuery(spec: AggregationSpec): { sql: string; params: Record<string, unknown> } {
  const f = spec.filters;
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (f.since) {
    where.push("measurement_start_time >= {since:DateTime('UTC')}");
    // DateTime has whole seconds: a fractional bound rounds up, keeping ">= since" exact.
    params.since = chDateTime(new Date(Math.ceil(f.since.getTime() / 1000) * 1000));
  }
  if (f.until) {
    where.push("measurement_start_time < {until:DateTime('UTC')}");
    params.until = chDateTime(new Date(Math.ceil(f.until.getTime() / 1000) * 1000));
  }
  if (f.probeCc.length) {
    where.push("fastpath.probe_cc IN {probe_cc:Array(String)}");
    params.probe_cc = f.probeCc;
  }
  if (f.probeAsn.length) {
    where.push("fastpath.probe_asn IN {probe_asn:Array(UInt32)}");
    params.probe_asn = f.probeAsn;
  }
  if (f.testName.length) {
    where.push("fastpath.test_name IN {test_name:Array(String)}");
    params.test_name = f.testName;
  }
  if (f.domain.length) {
    where.push("fastpath.domain IN {domain:Array(String)}");
    params.domain = f.domain;
  }
  if (f.input !== null) {
    where.push("fastpath.input = {input:String}");
    params.input = f.input;
  }
  if (f.runLinkIds.length) {
    // Sent as decimal strings: a JS number cannot hold every UInt64.
    where.push("fastpath.ooni_run_link_id IN arrayMap(x -> toUInt64(x), {run_link_ids:Array(String)})");
    params.run_link_ids = f.runLinkIds;
  }
  const needsCategory = f.categoryCode.length > 0 || spec.axes.includes("category_code");
  if (f.categoryCode.length) {
    where.push(`${CATEGORY_EXPR} IN {category_code:Array(String)}`);
    params.category_code = f.categoryCode;
  } else if (needsCategory) {
    // Grouping by category: measurements of URLs in no test list have none (as the legacy join).
    where.push(`${CATEGORY_EXPR} != ''`);
  }

  const axisCols = spec.axes.map((a, i) => `${axisExpr(a, spec.grain)} AS axis_${i}`);
  const groupCols = spec.axes.map((_, i) => `axis_${i}`);
  const sql = [
    `SELECT ${[...axisCols, COUNTS].join(",\n  ")}`,
    "FROM fastpath",
    needsCategory ? CATEGORY_JOINS : "",
    where.length ? `WHERE ${where.join("\n  AND ")}` : "",
    groupCols.length ? `GROUP BY ${groupCols.join(", ")}\nORDER BY ${groupCols.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("\n");
  return { sql, params };
}
