import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { jsonError } from "../http/errors";
import { sendCacheableJson, windowLifetime } from "../http/cache-policy";
import { OBS_WEB_COLUMNS } from "../observations/columns";
import { CLOUD_PROVIDER_ASNS } from "../analysis/query";
import { Filters, listMetadata, listParams, readPage, readResponses, readRows } from "./common";
import {
  asnItem,
  asnNumber,
  ccItem,
  chInstant,
  isoNaive,
  listOf,
  parsedInstant,
  plainItem,
  since,
  startOf,
  TIME_GRAINS,
  utcDay,
  values,
} from "./params";

// /api/v1/observations, /api/v1/aggregation/observations and …/ctrl: upstream's shapes
// (ooni/backend oonimeasurements routers/data), over obs_web and obs_web_ctrl.

/** The list response's columns: obs_web minus what upstream's entry leaves out. */
const LIST_COLUMNS = OBS_WEB_COLUMNS.map(([n]) => n).filter(
  (n) => !["resolver_is_scrubbed", "resolver_asn_probe", "resolver_as_org_name_probe", "probe_id"].includes(n),
);
const BOOL_COLUMNS = new Set(OBS_WEB_COLUMNS.filter(([, t]) => t.includes("Int8")).map(([n]) => n));
const TIME_COLUMNS = new Set(OBS_WEB_COLUMNS.filter(([, t]) => t.includes("DateTime64")).map(([n]) => n));

const Metadata = z
  .object({
    count: z.number().int(),
    current_page: z.number().int(),
    limit: z.number().int(),
    next_url: z.string(),
    offset: z.number().int(),
    pages: z.number().int(),
    query_time: z.number(),
  })
  .openapi("ListMetadata");

const listQuery = z.object({
  report_id: plainItem.optional(),
  ...listParams({ since: "Start day (measurement_start_time ≥ since); default 7 days ago", until: "End day (measurement_start_time ≤ until); default today" }),
  software_name: plainItem.optional(),
  software_version: plainItem.optional(),
  test_version: plainItem.optional(),
  engine_version: plainItem.optional(),
  ooni_run_link_id: plainItem.optional(),
});

const listRoute = createRoute({
  method: "get",
  path: "/api/v1/observations",
  tags: ["observations"],
  summary: "Web observations (obs_web rows): one per DNS answer, TCP connect, TLS handshake and HTTP request",
  request: { query: listQuery },
  responses: readResponses("Observations", z.object({ metadata: Metadata, results: z.array(z.record(z.string(), z.unknown())) })),
});

const AGG_KEYS = ["timestamp", "failure", "hostname", "ip", "probe_cc", "probe_asn", "test_name", "measurement_uid"] as const;

const aggQuery = z.object({
  group_by: listOf(z.enum(AGG_KEYS) as unknown as z.ZodString, "Dimensions (default failure)"),
  test_name: listOf(plainItem, "Test names"),
  hostname: listOf(plainItem, "Hostnames"),
  probe_asn: listOf(asnItem, "Probe ASNs"),
  probe_cc: listOf(ccItem, "Probe country codes"),
  resolver_asn: listOf(asnItem, "Resolver ASNs"),
  ip: listOf(plainItem, "Addresses"),
  measurement_uid: listOf(plainItem, "Measurement uids"),
  ooni_run_link_id: plainItem.optional(),
  since: since("Start (measurement_start_time > since); default 30 days ago"),
  until: since("End (measurement_start_time < until); default today"),
  time_grain: z.enum(TIME_GRAINS).optional(),
});

const AggEntry = z
  .object({
    observation_count: z.number().int(),
    failure: z.string().optional(),
    ip: z.string().optional(),
    hostname: z.string().optional(),
    probe_cc: z.string().optional(),
    probe_asn: z.number().int().optional(),
    test_name: z.string().optional(),
    measurement_uid: z.string().optional(),
    timestamp: z.string().optional(),
  })
  .openapi("ObservationAggregationEntry");

const aggRoute = createRoute({
  method: "get",
  path: "/api/v1/aggregation/observations",
  tags: ["observations"],
  summary: "Observation counts grouped by failure (dns_isp./dns_other./tcp./tls./http(s).<failure> or none) and other dimensions",
  request: { query: aggQuery },
  responses: readResponses("Counts", z.object({ results: z.array(AggEntry) })),
});

const CtrlEntry = z
  .object({
    hostname: z.string(),
    ip: z.string(),
    port: z.number().int().optional(),
    asn: z.number().int().optional(),
    as_org_name: z.string().optional(),
    is_cloud_provider: z.boolean(),
    in_dns_answers: z.boolean(),
    tls_consistent: z.boolean(),
    tcp_success_count: z.number().int(),
    tcp_failure_count: z.number().int(),
    tls_success_count: z.number().int(),
    tls_failure_count: z.number().int(),
    dns_success_count: z.number().int(),
    dns_nxdomain_count: z.number().int(),
    dns_other_failure_count: z.number().int(),
  })
  .openapi("CtrlGroundTruthEntry");

const ctrlRoute = createRoute({
  method: "get",
  path: "/api/v1/aggregation/observations/ctrl",
  tags: ["observations"],
  summary: "The control's ground truth per hostname, address and port (obs_web_ctrl)",
  request: {
    query: z.object({
      hostname: z.union([plainItem, z.array(plainItem)]).openapi({ description: "Hostnames (required); repeat for several" }),
      since: since("Start (exclusive); default an hour ago"),
      until: since("End (inclusive); default now"),
    }),
  },
  responses: readResponses("Ground truth", z.object({ results: z.array(CtrlEntry) })),
});

const FAILURE_SQL = `multiIf(
  dns_failure IS NOT NULL,
    concat(if(resolver_asn = probe_asn, 'dns_isp.', 'dns_other.'), if(startsWith(dns_failure, 'unknown_failure'), 'unknown_failure', dns_failure)),
  tcp_failure IS NOT NULL, concat('tcp.', if(startsWith(tcp_failure, 'unknown_failure'), 'unknown_failure', tcp_failure)),
  tls_failure IS NOT NULL, concat('tls.', if(startsWith(tls_failure, 'unknown_failure'), 'unknown_failure', tls_failure)),
  http_failure IS NOT NULL,
    concat(if(startsWith(http_request_url, 'https://'), 'https.', 'http.'), if(startsWith(http_failure, 'unknown_failure'), 'unknown_failure', http_failure)),
  'none')`;

function shapeObservation(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of LIST_COLUMNS) {
    const v = r[k];
    if (BOOL_COLUMNS.has(k)) out[k] = v === null || v === undefined ? null : Number(v) !== 0;
    else if (TIME_COLUMNS.has(k)) out[k] = isoNaive(v);
    else out[k] = v;
  }
  // Upstream names a row's target by its hostname, else the SNI (Python's `or`: an empty hostname
  // falls through, as MK-era HTTP rows without a URL have).
  if (out.target_id === null) out.target_id = out.hostname || out.tls_server_name;
  return out;
}

export function observationRoutes() {
  const app = createRouter();

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid("query");
    const { config } = c.get("services");
    const t0 = performance.now();
    const page = readPage(c, q);
    if (page instanceof Response) return page;
    const f = new Filters();
    f.eq("report_id", q.report_id);
    f.eq("measurement_uid", q.measurement_uid);
    f.eq("probe_asn", q.probe_asn === undefined ? undefined : asnNumber(q.probe_asn), "Int64");
    for (const k of ["probe_cc", "software_name", "software_version", "test_name", "test_version", "engine_version", "ooni_run_link_id"] as const) f.eq(k, q[k]);
    const byId = q.report_id !== undefined || q.measurement_uid !== undefined;
    // Upstream's defaults: the last 7 days, unless a report or measurement is asked for.
    const sinceD = parsedInstant(q.since) ?? (byId ? null : utcDay(7));
    const untilD = parsedInstant(q.until) ?? (byId ? null : utcDay(0));
    f.window(sinceD, untilD, "inclusive");
    const sql = `SELECT ${LIST_COLUMNS.join(", ")} FROM obs_web FINAL ${f.clause()}
      ORDER BY ${q.order_by ?? "measurement_start_time"} ${(q.order ?? "DESC").toUpperCase()}, measurement_uid, observation_idx
      LIMIT {limit:UInt32} OFFSET {offset:UInt32}`;
    const rows = await readRows(c, sql, { ...f.params, limit: page.limit, offset: page.offset });
    if (rows instanceof Response) return rows;
    const body = { metadata: listMetadata(c, "/api/v1/observations", page, t0), results: rows.map(shapeObservation) };
    return sendCacheableJson(c, body, windowLifetime(untilD, new Date(), config.explorer.cache), {}, JSON.stringify(body.results));
  });

  app.openapi(aggRoute, async (c) => {
    const q = c.req.valid("query");
    const { config } = c.get("services");
    const groupBy = values(q.group_by as string | string[] | undefined);
    for (const g of groupBy) if (!(AGG_KEYS as readonly string[]).includes(g)) return jsonError(c, 400, `invalid group_by: ${g}`, { parameter: "group_by" });
    if (groupBy.length === 0) groupBy.push("failure");
    const uids = values(q.measurement_uid);
    const sinceD = parsedInstant(q.since) ?? (uids.length ? null : utcDay(30));
    const untilD = parsedInstant(q.until) ?? (uids.length ? null : utcDay(0));
    const f = new Filters();
    const cols: string[] = [];
    const group = [...groupBy];
    f.window(sinceD, untilD, "exclusive");
    // A filtered dimension is also a grouped one, as upstream.
    const filter = (col: string, list: (string | number)[], type: string) => {
      if (!f.in(col, list, type)) return;
      group.push(col);
      cols.push(col);
    };
    filter("probe_cc", values(q.probe_cc), "String");
    filter("probe_asn", values(q.probe_asn).map(asnNumber), "Int64");
    filter("resolver_asn", values(q.resolver_asn).map(asnNumber), "Int64");
    filter("hostname", values(q.hostname), "String");
    filter("test_name", values(q.test_name), "String");
    filter("ip", values(q.ip), "String");
    filter("measurement_uid", uids, "String");
    // An empty ooni_run_link_id is no filter here (upstream tests it for truth).
    if (q.ooni_run_link_id) f.eq("ooni_run_link_id", q.ooni_run_link_id);
    const order = ["observation_count"];
    if (group.includes("timestamp")) {
      cols.push(`${startOf(q.time_grain ?? "day")} AS timestamp`);
      order.unshift("timestamp");
    }
    if (group.includes("failure")) {
      // HTTP-only rows of older engines cannot be tied to an address: left out, as upstream.
      f.where.push("(dns_failure IS NOT NULL OR ip IS NOT NULL)");
      cols.push(`${FAILURE_SQL} AS failure`);
    }
    for (const g of new Set(group)) if (!["timestamp", "failure"].includes(g) && !cols.includes(g)) cols.push(g);
    const sql = `SELECT count() AS observation_count, ${cols.join(", ")} FROM obs_web FINAL
      ${f.clause()}
      GROUP BY ${[...new Set(group)].join(", ")} ORDER BY ${order.join(", ")} DESC`;
    const rows = await readRows(c, sql, f.params);
    if (rows instanceof Response) return rows;
    const results = rows.map((r) => {
      const out: Record<string, unknown> = { observation_count: Number(r.observation_count) };
      for (const k of AGG_KEYS) {
        const v = r[k];
        if (v === null || v === undefined) continue; // response_model_exclude_none
        out[k] = k === "timestamp" ? isoNaive(v) : k === "probe_asn" ? Number(v) : v;
      }
      return out;
    });
    return sendCacheableJson(c, { results }, windowLifetime(untilD, new Date(), config.explorer.cache));
  });

  app.openapi(ctrlRoute, async (c) => {
    const q = c.req.valid("query");
    const { config } = c.get("services");
    const hostnames = values(q.hostname);
    if (hostnames.length === 0) return jsonError(c, 400, "invalid hostname: at least one is required", { parameter: "hostname" });
    const now = new Date();
    const untilD = parsedInstant(q.until) ?? now;
    const sinceD = parsedInstant(q.since) ?? new Date(now.getTime() - 3600_000);
    const sql = `SELECT hostname, ip, port, asn, as_org_name, is_cloud_provider, in_dns_answers, tls_consistent,
        tcp_success_count, tcp_failure_count, tls_success_count, tls_failure_count,
        dns_success_count, dns_nxdomain_count, dns_other_failure_count
      FROM (
        SELECT hostname, ip, port,
          any(ip_asn) AS asn,
          any(ip_as_org_name) AS as_org_name,
          coalesce(any(ip_asn IN {cloud:Array(UInt32)}), 0) AS is_cloud_provider,
          countIf(dns_success = 1) AS own_dns_success,
          countIf(dns_failure = 'dns_nxdomain_error') AS own_dns_nxdomain,
          countIf(dns_failure IS NOT NULL AND dns_failure != 'dns_nxdomain_error') AS own_dns_other,
          own_dns_success > 0 AS in_dns_answers,
          countIf(tcp_success = 1) AS tcp_success_count,
          countIf(tcp_success = 0) AS tcp_failure_count,
          countIf(tls_success = 1) AS tls_success_count,
          countIf(tls_success = 0 AND tls_failure IS NOT NULL) AS tls_failure_count,
          max(tls_success_count > 0) OVER (PARTITION BY hostname, ip) AS tls_consistent,
          sum(own_dns_success) OVER (PARTITION BY hostname) AS dns_success_count,
          sum(own_dns_nxdomain) OVER (PARTITION BY hostname) AS dns_nxdomain_count,
          sum(own_dns_other) OVER (PARTITION BY hostname) AS dns_other_failure_count
        FROM obs_web_ctrl FINAL
        WHERE measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')}
          AND hostname IN {hostnames:Array(String)}
        GROUP BY hostname, ip, port
      ) ORDER BY hostname, ip, port`;
    const rows = await readRows(c, sql, { since: chInstant(sinceD), until: chInstant(untilD), hostnames, cloud: CLOUD_PROVIDER_ASNS });
    if (rows instanceof Response) return rows;
    const n = (v: unknown) => Number(v ?? 0);
    const results = rows.map((r) => {
      const out: Record<string, unknown> = {
        hostname: r.hostname,
        ip: r.ip,
        is_cloud_provider: n(r.is_cloud_provider) !== 0,
        in_dns_answers: n(r.in_dns_answers) !== 0,
        tls_consistent: n(r.tls_consistent) !== 0,
      };
      if (r.port !== null) out.port = n(r.port);
      if (r.asn !== null) out.asn = n(r.asn);
      if (r.as_org_name !== null) out.as_org_name = r.as_org_name;
      for (const k of ["tcp_success_count", "tcp_failure_count", "tls_success_count", "tls_failure_count", "dns_success_count", "dns_nxdomain_count", "dns_other_failure_count"]) out[k] = n(r[k]);
      return out;
    });
    return sendCacheableJson(c, { results }, windowLifetime(untilD, new Date(), config.explorer.cache));
  });
  return app;
}
