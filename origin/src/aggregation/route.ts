import { createRoute, z } from "@hono/zod-openapi";
import { jsonError } from "../http/errors";
import { createRouter } from "../http/router";
import { sendCacheable, windowLifetime } from "../http/cache-policy";
import {
  asnListParam,
  asnNumber,
  categoryListParam,
  ccListParam,
  dateParam,
  domainListParam,
  inputParam,
  parseInstant,
  runLinkListParam,
  splitList,
  testNameListParam,
} from "../stats/params";
import { readQuery, timeoutResponse } from "../stats/read-query";
import { ErrorBody, DbStatsSchema } from "../stats/schemas";
import { AXES, COUNT_COLUMNS, buildAggregationQuery, type Axis } from "./build-query";
import { toCsv } from "./csv";
import { GRAINS, resolveGrain, type Grain } from "./time-grain";

const Query = z.object({
  input: inputParam.optional().openapi({
    description: "One measurement input (e.g. a URL), matched exactly. Not a list: URLs may contain commas.",
    example: "https://twitter.com/",
  }),
  domain: domainListParam,
  category_code: categoryListParam,
  probe_cc: ccListParam,
  probe_asn: asnListParam,
  test_name: testNameListParam,
  ooni_run_link_id: runLinkListParam,
  since: dateParam("Start of the window, inclusive (measurement_start_time ≥ since)"),
  until: dateParam("End of the window, exclusive (measurement_start_time < until)"),
  time_grain: z
    .enum(["", "auto", ...GRAINS])
    .optional()
    .openapi({
      description:
        "Time bucket for the measurement_start_day axis. Allowed by range: ≤ 7 days hour/day; ≤ 30 days day/week; " +
        "≤ 365 days day/week/month; longer day/week/month/year. `auto` (default) picks the first allowed.",
      example: "day",
    }),
  axis_x: z
    .enum(["", ...AXES])
    .optional()
    .openapi({ description: "First dimension to group by", example: "measurement_start_day" }),
  axis_y: z
    .enum(["", ...AXES])
    .optional()
    .openapi({ description: "Second dimension to group by (must differ from axis_x)", example: "probe_cc" }),
  format: z
    .enum(["JSON", "CSV", "json", "csv"])
    .optional()
    .openapi({ description: "Response format (default JSON)", example: "JSON" }),
  download: z
    .enum(["", "true", "false", "True", "False", "1", "0"])
    .optional()
    .openapi({
      description: "true: add Content-Disposition: attachment (ooni-aggregate-data.csv / .json)",
      example: "false",
    }),
});

const Row = z
  .object({
    anomaly_count: z.number().int().openapi({ description: "anomaly ∧ ¬confirmed ∧ ¬failure" }),
    confirmed_count: z.number().int().openapi({ description: "confirmed ∧ ¬failure" }),
    failure_count: z.number().int().openapi({ description: "failure" }),
    ok_count: z.number().int().openapi({ description: "none of anomaly, confirmed, failure" }),
    measurement_count: z.number().int().openapi({ description: "all measurements" }),
    blocking_type: z.string().optional(),
    category_code: z.string().optional(),
    domain: z.string().optional(),
    input: z.string().optional(),
    measurement_start_day: z
      .string()
      .optional()
      .openapi({ description: "Bucket start: YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ for hourly buckets" }),
    probe_asn: z.number().int().optional(),
    probe_cc: z.string().optional(),
    test_name: z.string().optional(),
  })
  .openapi("AggregationRow");

const Aggregation = z
  .object({
    v: z.literal(0),
    dimension_count: z.number().int().min(0).max(2),
    result: z.union([Row, z.array(Row)]).openapi({
      description: "One row without axes; a list of rows ordered by the axes otherwise",
    }),
    db_stats: DbStatsSchema,
  })
  .openapi("Aggregation");

const route = createRoute({
  method: "get",
  path: "/api/v1/aggregation",
  tags: ["measurements"],
  summary: "Measurement counts, filtered and grouped by up to two dimensions",
  description:
    "Counts fastpath measurements. Filters combine with AND; values inside one list with OR. " +
    "CSV has one line per row with the columns sorted by name. Responses about windows that ended " +
    "more than CACHE_SETTLE_HOURS ago are cacheable for a day; others for minutes (docs/caching.md).",
  request: { query: Query },
  responses: {
    200: {
      description: "Counts",
      content: {
        "application/json": { schema: Aggregation },
        "text/csv": { schema: z.string().openapi({ example: "anomaly_count,confirmed_count,failure_count,measurement_count,ok_count,probe_cc\r\n3,1,0,20,16,IT\r\n" }) },
      },
    },
    304: { description: "Not modified (If-None-Match matched the ETag)" },
    400: { description: "Invalid parameter (named in `parameter`)", content: { "application/json": { schema: ErrorBody } } },
    504: { description: "The query exceeded its time limit", content: { "application/json": { schema: ErrorBody } } },
  },
});

type RawRow = Record<string, unknown>;

/** Rows with the axis columns renamed and dates formatted; keys sorted like the legacy API. */
function shapeRows(raw: RawRow[], axes: Axis[], grain: Grain | null): Record<string, unknown>[] {
  // Key order decided once, not per row: rows can number in the tens of thousands.
  const keys = ([...COUNT_COLUMNS, ...axes] as string[]).sort();
  const source = new Map<string, string>(COUNT_COLUMNS.map((k) => [k, k]));
  axes.forEach((axis, i) => source.set(axis, `axis_${i}`));
  const day = axes.includes("measurement_start_day")
    ? grain === "hour"
      ? (v: string) => `${v.replace(" ", "T")}Z`
      : (v: string) => v.slice(0, 10)
    : null;
  return raw.map((r) => {
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = r[source.get(k)!];
      out[k] = day && k === "measurement_start_day" && typeof v === "string" ? day(v) : v;
    }
    return out;
  });
}

export function aggregationRoutes() {
  const app = createRouter();
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { config, db } = c.get("services");
    const bad = (parameter: string, error: string) => jsonError(c, 400, `invalid ${parameter}: ${error}`, { parameter, in: "query" });

    const since = q.since ? parseInstant(q.since) : null;
    const until = q.until ? parseInstant(q.until) : null;
    if (since && until && since.getTime() >= until.getTime()) return bad("until", "must be later than since");
    const axes = [q.axis_x, q.axis_y].filter((a): a is Axis => !!a);
    if (q.axis_x && q.axis_x === q.axis_y) return bad("axis_y", "must differ from axis_x");

    let grain: Grain | null = null;
    if (axes.includes("measurement_start_day")) {
      if (!since) return bad("since", "is required with the measurement_start_day axis");
      if (!until) return bad("until", "is required with the measurement_start_day axis");
      const r = resolveGrain((q.time_grain || "auto") as Grain | "auto", since, until);
      if ("error" in r) return bad("time_grain", r.error);
      grain = r.grain;
    }

    const { sql, params } = buildAggregationQuery({
      axes,
      grain,
      filters: {
        probeCc: splitList(q.probe_cc),
        probeAsn: splitList(q.probe_asn).map(asnNumber),
        testName: splitList(q.test_name),
        domain: splitList(q.domain),
        input: q.input ? q.input : null,
        categoryCode: splitList(q.category_code),
        runLinkIds: splitList(q.ooni_run_link_id),
        since,
        until,
      },
    });

    let result;
    try {
      result = await readQuery<RawRow>(db, sql, params, config.explorer.queryTimeoutS);
    } catch (err) {
      return timeoutResponse(c, err);
    }
    const rows = shapeRows(result.rows, axes, grain);
    const lifetime = windowLifetime(until, new Date(), config.explorer.cache);
    const csv = (q.format ?? "JSON").toUpperCase() === "CSV";
    const download = ["true", "1"].includes((q.download ?? "").toLowerCase());

    if (csv) {
      const columns = [...COUNT_COLUMNS, ...axes].sort();
      const headers: Record<string, string> = download
        ? { "Content-Disposition": "attachment; filename=ooni-aggregate-data.csv" }
        : {};
      return sendCacheable(c, toCsv(columns, rows), "text/csv; charset=utf-8", lifetime, headers);
    }
    const payload = JSON.stringify(axes.length ? rows : rows[0]);
    // Serialized once and spliced in: the same bytes feed the body and the tag.
    const body = `{"v":0,"dimension_count":${axes.length},"result":${payload},"db_stats":${JSON.stringify(result.stats)}}`;
    const headers: Record<string, string> = download
      ? { "Content-Disposition": "attachment; filename=ooni-aggregate-data.json" }
      : {};
    // db_stats differs run to run; the tag covers the counts only.
    return sendCacheable(c, body, "application/json", lifetime, headers, payload);
  });
  return app;
}
