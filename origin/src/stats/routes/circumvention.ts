import { createRoute, z } from "@hono/zod-openapi";
import { jsonError } from "../../http/errors";
import { createRouter } from "../../http/router";
import { sendCacheableJson, windowLifetime } from "../../http/cache-policy";
import { CC_RE, chDateTime, dateParam, parseInstant, probeCcRequired } from "../params";
import { readQuery, timeoutResponse } from "../read-query";
import { statsResponse } from "../respond";
import { ErrorBody, notModified, statsErrors } from "../schemas";
import { CIRCUMVENTION_TOOLS } from "../test-groups";
import { addDays, addMonthsToDay, startOfUtcDay } from "../windows";

// Tor and the other circumvention tools: per-network Tor results, per-country tool usage and
// runtimes, and the Snowflake (torsf) daily series.

const tags = ["explorer statistics"];

const TorNetwork = z.object({
  failure_count: z.number().int(),
  last_tested: z.string().openapi({ example: "2024-01-31" }),
  probe_asn: z.number().int(),
  total_count: z.number().int(),
  success_count: z.number().int().openapi({ description: "total_count − anomalies" }),
  test_runtime_avg: z.null(),
  test_runtime_max: z.null(),
  test_runtime_min: z.null(),
});
const vanillaTor = createRoute({
  method: "get",
  path: "/api/_/vanilla_tor_stats",
  tags,
  summary: "vanilla_tor results per network of one country, last 6 months",
  description: "notok_networks counts networks with more than 5 measurements and a success rate below 60%.",
  request: { query: z.object({ probe_cc: probeCcRequired }) },
  responses: {
    200: {
      description: "Per-network results",
      content: {
        "application/json": {
          schema: z
            .object({ networks: z.array(TorNetwork), notok_networks: z.number().int(), last_tested: z.string().nullable() })
            .openapi("VanillaTorStats"),
        },
      },
    },
    ...notModified,
    ...statsErrors,
  },
});

const byCountry = createRoute({
  method: "get",
  path: "/api/_/circumvention_stats_by_country",
  tags,
  summary: "Circumvention tool measurements per country, last 6 months up to yesterday",
  responses: {
    200: {
      description: "Countries in order",
      content: {
        "application/json": {
          schema: z
            .object({ v: z.literal(0), results: z.array(z.object({ probe_cc: z.string(), cnt: z.number().int() })) })
            .openapi("CircumventionStatsByCountry"),
        },
      },
    },
    ...notModified,
    ...statsErrors,
  },
});

const RuntimePoint = z.object({
  test_name: z.string(),
  probe_cc: z.string(),
  date: z.string().openapi({ example: "2024-01-31" }),
  v: z
    // The empty case as an array of at most 0 items: z.tuple([]) becomes `prefixItems: []`, which
    // JSON Schema forbids (prefixItems needs at least one) and openapi-spec-validator rejects.
    .union([z.tuple([z.number(), z.number(), z.number().int()]), z.array(z.number()).max(0)])
    .openapi({ description: "[p50 runtime s, p90 runtime s, measurement count], or [] for no data" }),
});
const runtime = createRoute({
  method: "get",
  path: "/api/_/circumvention_runtime_stats",
  tags,
  summary: "Median and 90th-percentile runtimes of circumvention tools per day and country",
  description: "Every (test_name, probe_cc, date) combination that occurs in the data, with [] where a combination has no data.",
  responses: {
    200: {
      description: "Points ordered by test name, country, date",
      content: {
        "application/json": {
          schema: z.object({ v: z.literal(0), results: z.array(RuntimePoint) }).openapi("CircumventionRuntimeStats"),
        },
      },
    },
    ...notModified,
    ...statsErrors,
  },
});

const TorsfRow = z.object({
  measurement_start_day: z.string().openapi({ example: "2024-01-31" }),
  probe_cc: z.string(),
  anomaly_count: z.number().int(),
  confirmed_count: z.number().int(),
  failure_count: z.number().int(),
  measurement_count: z.number().int(),
  anomaly_rate: z.number(),
});
const torsf = createRoute({
  method: "get",
  path: "/api/v1/torsf_stats",
  tags: ["measurements"],
  summary: "Tor Snowflake (torsf) measurements per day and country",
  description: "Window: since < measurement_start_time ≤ until (as upstream). Cached like aggregations (docs/caching.md).",
  request: {
    query: z.object({
      probe_cc: z
        .string()
        .refine((v) => v === "" || CC_RE.test(v), { message: "must be a two-letter uppercase country code" })
        .optional()
        .openapi({ description: "Only this country", example: "RU" }),
      since: dateParam("Start of the window, exclusive"),
      until: dateParam("End of the window, inclusive"),
    }),
  },
  responses: {
    200: {
      description: "Rows ordered by day and country",
      content: { "application/json": { schema: z.object({ v: z.literal(0), result: z.array(TorsfRow) }).openapi("TorsfStats") } },
    },
    ...notModified,
    400: { description: "Invalid parameter (named in `parameter`)", content: { "application/json": { schema: ErrorBody } } },
    504: statsErrors[504],
  },
});

/** [today − 6 months, today − 1 day): the circumvention statistics' window (upstream). */
function sixMonths(now: Date) {
  const today = startOfUtcDay(now);
  return { from: chDateTime(addMonthsToDay(today, -6)), to: chDateTime(addDays(today, -1)) };
}

export function circumventionRoutes() {
  const app = createRouter();

  app.openapi(vanillaTor, (c) =>
    statsResponse(c, "vanilla_tor_stats", async (rows, now) => {
      const { probe_cc } = c.req.valid("query");
      const today = startOfUtcDay(now);
      // Only vanilla_tor rows: upstream's query had no test_name filter and counted every test.
      const nets = await rows<{ failure_count: number; last_tested: string; probe_asn: number; total_count: number; success_count: number }>(
        `SELECT countIf(msm_failure = 't') AS failure_count,
                toString(toDate(max(measurement_start_time), 'UTC')) AS last_tested,
                probe_asn, count() AS total_count, total_count - countIf(anomaly = 't') AS success_count
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND probe_cc = {probe_cc:String} AND test_name = 'vanilla_tor'
         GROUP BY probe_asn ORDER BY probe_asn`,
        { from: chDateTime(addMonthsToDay(today, -6)), to: chDateTime(today), probe_cc },
      );
      const networks = nets.map((n) => ({ ...n, test_runtime_avg: null, test_runtime_max: null, test_runtime_min: null }));
      const notok = nets.filter((n) => n.total_count > 5 && n.success_count / n.total_count < 0.6).length;
      const last = nets.reduce<string | null>((m, n) => (m === null || n.last_tested > m ? n.last_tested : m), null);
      return { networks, notok_networks: notok, last_tested: last };
    }),
  );

  app.openapi(byCountry, (c) =>
    statsResponse(c, "circumvention_stats_by_country", async (rows, now) => {
      const results = await rows<{ probe_cc: string; cnt: number }>(
        `SELECT probe_cc, count() AS cnt FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND test_name IN {tools:Array(String)}
         GROUP BY probe_cc ORDER BY probe_cc`,
        { ...sixMonths(now), tools: CIRCUMVENTION_TOOLS },
      );
      return { v: 0, results };
    }),
  );

  app.openapi(runtime, (c) =>
    statsResponse(c, "circumvention_runtime_stats", async (rows, now) => {
      const r = await rows<{ date: string; test_name: string; probe_cc: string; p50: number; p90: number; cnt: number }>(
        `SELECT toString(toDate(measurement_start_time, 'UTC')) AS date, test_name, probe_cc,
                quantile(0.5)(JSONExtractFloat(scores, 'extra', 'test_runtime')) AS p50,
                quantile(0.9)(JSONExtractFloat(scores, 'extra', 'test_runtime')) AS p90,
                count() AS cnt
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND test_name IN {tools:Array(String)}
           AND JSONHas(scores, 'extra', 'test_runtime')
         GROUP BY date, probe_cc, test_name`,
        { ...sixMonths(now), tools: CIRCUMVENTION_TOOLS },
      );
      // Pivot: every combination of the test names, countries and dates present, [] where empty.
      const cell = new Map(r.map((x) => [`${x.test_name}|${x.probe_cc}|${x.date}`, [x.p50, x.p90, x.cnt] as const]));
      const uniq = (k: "test_name" | "probe_cc" | "date") => [...new Set(r.map((x) => x[k]))].sort();
      const results = [];
      for (const test_name of uniq("test_name"))
        for (const probe_cc of uniq("probe_cc"))
          for (const date of uniq("date")) results.push({ test_name, probe_cc, date, v: cell.get(`${test_name}|${probe_cc}|${date}`) ?? [] });
      return { v: 0, results };
    }),
  );

  app.openapi(torsf, async (c) => {
    const q = c.req.valid("query");
    const { db, config } = c.get("services");
    const since = q.since ? parseInstant(q.since) : null;
    const until = q.until ? parseInstant(q.until) : null;
    if (since && until && since.getTime() >= until.getTime()) {
      return jsonError(c, 400, "invalid until: must be later than since", { parameter: "until", in: "query" });
    }
    const where = ["test_name = 'torsf'"];
    const params: Record<string, unknown> = {};
    if (q.probe_cc) {
      where.push("probe_cc = {probe_cc:String}");
      params.probe_cc = q.probe_cc;
    }
    if (since) {
      where.push("measurement_start_time > {since:DateTime('UTC')}");
      params.since = chDateTime(new Date(Math.floor(since.getTime() / 1000) * 1000));
    }
    if (until) {
      where.push("measurement_start_time <= {until:DateTime('UTC')}");
      params.until = chDateTime(new Date(Math.floor(until.getTime() / 1000) * 1000));
    }
    let r;
    try {
      r = await readQuery<Omit<z.infer<typeof TorsfRow>, "anomaly_rate">>(
        db,
        // Fixed text; only the presence of the two optional conditions varies.
        `SELECT toString(toDate(measurement_start_time, 'UTC')) AS measurement_start_day, probe_cc,
                countIf(anomaly = 't') AS anomaly_count, countIf(confirmed = 't') AS confirmed_count,
                countIf(msm_failure = 't') AS failure_count, count() AS measurement_count
         FROM fastpath WHERE ${where.join(" AND ")}
         GROUP BY measurement_start_day, probe_cc ORDER BY measurement_start_day, probe_cc`,
        params,
        config.explorer.queryTimeoutS,
      );
    } catch (err) {
      return timeoutResponse(c, err);
    }
    // upstream divided by a measurement_count it never selected; here the count is selected.
    const result = r.rows.map((x) => ({ ...x, anomaly_rate: x.anomaly_count / x.measurement_count }));
    // An inclusive `until` covers its own second: the window is over one second later.
    const end = until ? new Date(Math.floor(until.getTime() / 1000) * 1000 + 1000) : null;
    return sendCacheableJson(c, { v: 0, result }, windowLifetime(end, new Date(), config.explorer.cache));
  });
  return app;
}
