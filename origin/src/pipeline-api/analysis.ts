import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { jsonError } from "../http/errors";
import { sendCacheableJson, windowLifetime } from "../http/cache-policy";
import { Filters, listMetadata, listParams, readPage, readResponses, readRows } from "./common";
import { asnNumber, isoNaive, parsedInstant, plainItem, probeAsnParam, probeCcParam, since, startOf, TIME_GRAINS, utcDay } from "./params";

// /api/v1/analysis and /api/v1/aggregation/analysis: upstream's shapes (ooni/backend
// oonimeasurements routers/data), over analysis_web_measurement.

const ENTRY_COLUMNS = [
  "measurement_uid", "measurement_start_time", "network_type", "probe_asn", "probe_cc", "probe_as_org_name",
  "resolver_asn", "resolver_as_cc", "domain", "input", "test_name", "top_probe_analysis", "top_dns_failure",
  "top_tcp_failure", "top_tls_failure", "top_dns_rule_id", "top_tcp_rule_id", "top_tls_rule_id",
  "dns_blocked", "dns_down", "dns_ok", "tcp_blocked", "tcp_down", "tcp_ok", "tls_blocked", "tls_down", "tls_ok",
] as const;

const AnalysisEntry = z
  .object(
    Object.fromEntries(
      ENTRY_COLUMNS.map((k) => [
        k,
        /_(blocked|down|ok)$/.test(k) || k.endsWith("_asn") ? z.number() : k.startsWith("top_") && !k.endsWith("rule_id") ? z.string().nullable() : z.string(),
      ]),
    ),
  )
  .openapi("AnalysisEntry");

const listRoute = createRoute({
  method: "get",
  path: "/api/v1/analysis",
  tags: ["analysis"],
  summary: "Web analysis rows: per measurement, the likelihood of blocking (LoNI) at the DNS, TCP and TLS layers",
  request: {
    query: z.object({
      ...listParams({ since: "Start (measurement_start_time ≥ since); default 30 days ago", until: "End (measurement_start_time ≤ until); default today" }),
      ooni_run_link_id: plainItem.optional(),
    }),
  },
  responses: readResponses(
    "Analysis rows",
    z.object({
      metadata: z.object({ count: z.number(), current_page: z.number(), limit: z.number(), next_url: z.string(), offset: z.number(), pages: z.number(), query_time: z.number() }),
      results: z.array(AnalysisEntry),
    }),
  ),
});

const AXES = ["measurement_start_day", "domain", "probe_cc", "probe_asn", "test_name", "input"] as const;

const Loni = z
  .object({
    dns_blocked: z.number().nullable(),
    dns_down: z.number().nullable(),
    dns_ok: z.number().nullable(),
    tcp_blocked: z.number().nullable(),
    tcp_down: z.number().nullable(),
    tcp_ok: z.number().nullable(),
    tls_blocked: z.number().nullable(),
    tls_down: z.number().nullable(),
    tls_ok: z.number().nullable(),
    likely_blocked_protocols: z.array(z.tuple([z.string(), z.number()])),
    blocked_max_outcome: z.string().nullable(),
    blocked_max: z.number().nullable(),
    dns_blocked_outcome: z.string().nullable(),
    tcp_blocked_outcome: z.string().nullable(),
    tls_blocked_outcome: z.string().nullable(),
  })
  .openapi("Loni");

const AggregationEntry = z
  .object({
    count: z.number(),
    measurement_start_day: z.string().optional(),
    loni: Loni,
    domain: z.string().optional(),
    probe_cc: z.string().optional(),
    probe_asn: z.number().optional(),
    test_name: z.string().optional(),
    input: z.string().optional(),
    measurement_uid: z.string().optional(),
  })
  .openapi("AnalysisAggregationEntry");

const aggRoute = createRoute({
  method: "get",
  path: "/api/v1/aggregation/analysis",
  tags: ["analysis"],
  summary: "LoNI per group: 95th percentiles of the blocked/down/ok likelihoods and the failures driving them",
  description:
    "Groups analysis rows by axis_x (and axis_y, and every filtered dimension) and reports, per group, the 95th percentile " +
    "of each LoNI value (a robust maximum), the failure most weighted by blocking per layer, and the layers whose blocked " +
    "likelihood exceeds 0.5 (likely_blocked_protocols, highest first). Values are not independent: blocked + down + ok ≠ 1.",
  request: {
    query: z.object({
      axis_x: z.enum(AXES).optional(),
      axis_y: z.enum(AXES).optional(),
      test_name: plainItem.optional(),
      domain: plainItem.optional(),
      input: plainItem.optional(),
      measurement_uid: plainItem.optional(),
      probe_asn: probeAsnParam,
      probe_cc: probeCcParam,
      ooni_run_link_id: plainItem.optional(),
      since: since("Start (measurement_start_time ≥ since); default 30 days ago"),
      until: since("End (measurement_start_time ≤ until); default today"),
      time_grain: z.enum(TIME_GRAINS).optional(),
      anomaly_sensitivity: z.string().regex(/^\d+(\.\d+)?$/, "must be a number").optional().openapi({ description: "Accepted for compatibility; unused (as upstream)" }),
      format: z.enum(["JSON", "CSV"]).optional().openapi({ description: "JSON only (as upstream, which accepts CSV but answers JSON)" }),
      download: z.enum(["true", "false", "True", "False", "1", "0"]).optional(),
    }),
  },
  responses: readResponses(
    "Aggregated LoNI",
    z.object({
      db_stats: z.object({ bytes: z.number(), elapsed_seconds: z.number(), row_count: z.number(), total_row_count: z.number() }),
      dimension_count: z.number().int(),
      results: z.array(AggregationEntry),
    }),
  ),
});

function aggregateSql(dims: Map<string, string>, where: string): string {
  const keys = [...dims.keys()];
  const topFailure = (expr: string, layer: string) =>
    `topKWeighted(10, 3, 'counts')(if(startsWith(${expr}, 'unknown_failure'), 'unknown_failure', ${expr}), toInt8(${layer}_blocked * 100)) AS top_${layer}`;
  return `
  SELECT ${keys.join(", ")}, count,
    dns_b AS dns_blocked, dns_d AS dns_down, dns_k AS dns_ok,
    tcp_b AS tcp_blocked, tcp_d AS tcp_down, tcp_k AS tcp_ok,
    tls_b AS tls_blocked, tls_d AS tls_down, tls_k AS tls_ok,
    arrayFirst(x -> true, top_dns).1 AS dns_blocked_outcome,
    arrayFirst(x -> true, top_tcp).1 AS tcp_blocked_outcome,
    arrayFirst(x -> true, top_tls).1 AS tls_blocked_outcome,
    arrayMap(x -> multiIf(x.2 = 'dns', (concat('dns.', dns_blocked_outcome), dns_b), x.2 = 'tcp', (concat('tcp.', tcp_blocked_outcome), tcp_b),
        x.2 = 'tls', (concat('tls.', tls_blocked_outcome), tls_b), ('none', 0.0)),
      arraySort(x -> -x.1, arrayFilter(x -> x.1 > 0.5, [(dns_b, 'dns'), (tcp_b, 'tcp'), (tls_b, 'tls')]))) AS likely_blocked_protocols
  FROM (
    WITH multiIf(top_dns_failure IN ('android_dns_cache_no_data', 'dns_nxdomain_error'), 'nxdomain', coalesce(top_dns_failure, 'got_answer')) AS dns_failure_kind
    SELECT ${[...dims.values()].join(", ")},
      count() AS count,
      ${topFailure("dns_failure_kind", "dns")},
      ${topFailure("top_tcp_failure", "tcp")},
      ${topFailure("top_tls_failure", "tls")},
      quantile(0.95)(dns_blocked) AS dns_b, quantile(0.95)(dns_down) AS dns_d, quantile(0.95)(dns_ok) AS dns_k,
      quantile(0.95)(tcp_blocked) AS tcp_b, quantile(0.95)(tcp_down) AS tcp_d, quantile(0.95)(tcp_ok) AS tcp_k,
      quantile(0.95)(tls_blocked) AS tls_b, quantile(0.95)(tls_down) AS tls_d, quantile(0.95)(tls_ok) AS tls_k
    FROM analysis_web_measurement FINAL
    ${where}
    GROUP BY ${keys.join(", ")}
    ORDER BY ${keys.join(", ")}
  )`;
}

const nanToNull = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
};

export function analysisRoutes() {
  const app = createRouter();

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid("query");
    const { config } = c.get("services");
    const t0 = performance.now();
    const page = readPage(c, q);
    if (page instanceof Response) return page;
    const f = new Filters();
    for (const k of ["measurement_uid", "probe_cc", "test_name", "ooni_run_link_id"] as const) f.eq(k, q[k]);
    f.eq("probe_asn", q.probe_asn === undefined ? undefined : asnNumber(q.probe_asn), "Int64");
    const byUid = q.measurement_uid !== undefined;
    const sinceD = parsedInstant(q.since) ?? (byUid ? null : utcDay(30));
    // Upstream's default ends at today's midnight; today's rows are what real time adds, so the
    // default here is "up to now" (docs/compat.md).
    const untilD = parsedInstant(q.until);
    f.window(sinceD, untilD, "inclusive");
    const sql = `SELECT ${ENTRY_COLUMNS.join(", ")} FROM analysis_web_measurement FINAL
      ${f.clause()}
      ORDER BY ${q.order_by ?? "measurement_start_time"} ${(q.order ?? "DESC").toUpperCase()}, measurement_uid LIMIT {limit:UInt32} OFFSET {offset:UInt32}`;
    const rows = await readRows(c, sql, { ...f.params, limit: page.limit, offset: page.offset });
    if (rows instanceof Response) return rows;
    const results = rows.map((r) => {
      const out: Record<string, unknown> = {};
      for (const k of ENTRY_COLUMNS) out[k] = k === "measurement_start_time" ? isoNaive(r[k]) : k.endsWith("_asn") ? Number(r[k]) : r[k];
      return out;
    });
    const body = { metadata: listMetadata(c, "/api/v1/analysis", page, t0), results };
    return sendCacheableJson(c, body, windowLifetime(untilD, new Date(), config.explorer.cache), {}, JSON.stringify(results));
  });

  app.openapi(aggRoute, async (c) => {
    const q = c.req.valid("query");
    const { config } = c.get("services");
    const t0 = performance.now();
    const grain = q.time_grain ?? "day";
    const dims = new Map<string, string>();
    const dim = (axis: string) => dims.set(axis, axis === "measurement_start_day" ? `${startOf(grain)} AS measurement_start_day` : axis);
    dim(q.axis_x ?? "measurement_start_day");
    const f = new Filters();
    // A filtered dimension is also a grouped one, as upstream.
    const filter = (col: string, v: string | number | undefined, type: string) => {
      if (f.eq(col, v, type)) dim(col);
    };
    filter("probe_asn", q.probe_asn === undefined ? undefined : asnNumber(q.probe_asn), "Int64");
    filter("probe_cc", q.probe_cc, "String");
    filter("test_name", q.test_name, "String");
    filter("ooni_run_link_id", q.ooni_run_link_id, "String");
    filter("domain", q.domain, "String");
    filter("input", q.input, "String");
    filter("measurement_uid", q.measurement_uid, "String");
    let dimensionCount = 1;
    if (q.axis_y) {
      dimensionCount++;
      dim(q.axis_y);
    }
    const byUid = q.measurement_uid !== undefined;
    const sinceD = parsedInstant(q.since) ?? (byUid ? null : utcDay(30));
    const untilD = parsedInstant(q.until);
    if (sinceD && untilD && sinceD > untilD) return jsonError(c, 400, "invalid until: must not be earlier than since", { parameter: "until" });
    f.window(sinceD, untilD, "inclusive");
    const rows = await readRows(c, aggregateSql(dims, f.clause()), f.params);
    if (rows instanceof Response) return rows;
    const results = rows.map((d) => {
      const likely = ((d.likely_blocked_protocols as [string, number][] | null) ?? []).map(([p, v]) => [p, Number(v)] as [string, number]);
      const top = likely[0] ?? ["none", 0];
      const entry: Record<string, unknown> = {
        count: Number(d.count),
        loni: {
          dns_blocked: nanToNull(d.dns_blocked),
          dns_down: nanToNull(d.dns_down),
          dns_ok: nanToNull(d.dns_ok),
          tcp_blocked: nanToNull(d.tcp_blocked),
          tcp_down: nanToNull(d.tcp_down),
          tcp_ok: nanToNull(d.tcp_ok),
          tls_blocked: nanToNull(d.tls_blocked),
          tls_down: nanToNull(d.tls_down),
          tls_ok: nanToNull(d.tls_ok),
          likely_blocked_protocols: likely,
          blocked_max_outcome: top[0],
          blocked_max: nanToNull(top[1]),
          dns_blocked_outcome: (d.dns_blocked_outcome as string | null) ?? null,
          tcp_blocked_outcome: (d.tcp_blocked_outcome as string | null) ?? null,
          tls_blocked_outcome: (d.tls_blocked_outcome as string | null) ?? null,
        },
      };
      for (const k of ["measurement_start_day", "domain", "probe_cc", "probe_asn", "test_name", "input", "measurement_uid"]) {
        if (d[k] === undefined) continue;
        entry[k] = k === "measurement_start_day" ? isoNaive(d[k]) : k === "probe_asn" ? Number(d[k]) : d[k];
      }
      return entry;
    });
    const elapsed = (performance.now() - t0) / 1000;
    const body = {
      db_stats: { bytes: -1, elapsed_seconds: elapsed, row_count: results.length, total_row_count: results.length },
      dimension_count: dimensionCount,
      results,
    };
    const headers: Record<string, string> = ["true", "True", "1"].includes(q.download ?? "") ? { "Content-Disposition": "attachment; filename=ooni-aggregate-analysis.json" } : {};
    return sendCacheableJson(c, body, windowLifetime(untilD, new Date(), config.explorer.cache), headers, JSON.stringify(results));
  });
  return app;
}
