import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { jsonError } from "../http/errors";
import { sendCacheableJson, windowLifetime } from "../http/cache-policy";
import { Filters, readResponses, readRows } from "../pipeline-api/common";
import { asnNumber, chInstant, parsedInstant, plainItem, probeAsnParam, probeCcParam, since, utcDay } from "../pipeline-api/params";

// /api/v1/detector/changepoints: upstream's route (ooni/backend oonimeasurements
// routers/data/aggregate_analysis.py, list_changepoints): filters, window and entry shape.

const ChangePointEntry = z
  .object({
    probe_asn: z.number().int(),
    probe_cc: z.string(),
    domain: z.string(),
    start_time: z.string().openapi({ description: "Start of the hour the change was detected in (UTC)", example: "2024-01-15T18:00:00Z" }),
    count_isp_resolver: z.number().int(),
    count_other_resolver: z.number().int(),
    count: z.number().int(),
    dns_isp_blocked: z.number().nullable(),
    dns_other_blocked: z.number().nullable(),
    tcp_blocked: z.number().nullable(),
    tls_blocked: z.number().nullable(),
    change_dir: z.enum(["up", "down"]).nullable().openapi({ description: "If blocking behaviour goes up or down" }),
    current_state: z.string().nullable().openapi({ description: "The state the series left: ok, blk (or unk)" }),
    s_pos: z.number().nullable(),
    s_neg: z.number().nullable(),
    h: z.number().nullable(),
    block_type: z.string().openapi({ description: "The signal that changed: dns_isp_blocked, dns_other_blocked, tcp_blocked or tls_blocked" }),
  })
  .openapi("ChangePointEntry");

const route = createRoute({
  method: "get",
  path: "/api/v1/detector/changepoints",
  tags: ["detector"],
  summary: "Changepoints found by the event detector (CUSUM) in the hourly blocking signals per network and domain",
  description:
    "Each entry is one hour in which the blocked likelihood of a (probe_cc, probe_asn, domain) series at one layer " +
    "(block_type) changed state: up (ok → blocked) or down (blocked → ok). docs/changepoints.md explains the detector.",
  request: {
    query: z.object({
      probe_asn: probeAsnParam,
      probe_cc: probeCcParam,
      domain: plainItem.optional().openapi({ description: "Exact domain", example: "twitter.com" }),
      since: since("Start (start_time ≥ since); default 30 days ago"),
      until: since("End (start_time ≤ until); default now"),
    }),
  },
  responses: readResponses("Changepoints", z.object({ results: z.array(ChangePointEntry) })),
});

const COLUMNS = [
  "probe_asn", "probe_cc", "domain", "ts", "count_isp_resolver", "count_other_resolver", "count", "dns_isp_blocked",
  "dns_other_blocked", "tcp_blocked", "tls_blocked", "change_dir", "current_state", "s_pos", "s_neg", "h", "block_type",
];

const numOrNull = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
};

/** "2024-01-15 18:00:00.000" (UTC) → "2024-01-15T18:00:00Z", as upstream serializes a UTC datetime. */
function utcIso(v: unknown): string {
  const s = String(v).replace(" ", "T").replace(/\.0+$/, "").replace(/(\.\d*?)0+$/, "$1");
  return `${s}Z`;
}

export function changepointRoutes() {
  const app = createRouter();
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { config } = c.get("services");
    const f = new Filters();
    // Upstream ignores a probe_asn of 0 (falsy); so does this.
    const asn = q.probe_asn === undefined ? undefined : asnNumber(q.probe_asn);
    f.eq("probe_asn", asn === 0 ? undefined : asn, "UInt32");
    f.eq("probe_cc", q.probe_cc);
    f.eq("domain", q.domain === "" ? undefined : q.domain);
    const sinceD = parsedInstant(q.since) ?? utcDay(30);
    // Upstream's default ends at today's midnight; changepoints of the hours since are what an
    // hourly detector adds, so the default here is "up to now" (docs/compat.md).
    const untilD = parsedInstant(q.until);
    if (untilD && sinceD > untilD) return jsonError(c, 400, "invalid until: must not be earlier than since", { parameter: "until" });
    f.where.push("ts >= {since:DateTime64(3, 'UTC')}");
    f.params.since = chInstant(sinceD);
    if (untilD) {
      f.where.push("ts <= {until:DateTime64(3, 'UTC')}");
      f.params.until = chInstant(untilD);
    }
    const rows = await readRows(
      c,
      `SELECT ${COLUMNS.join(", ")} FROM event_detector_changepoints FINAL ${f.clause()} ORDER BY ts, probe_cc, probe_asn, domain, block_type`,
      f.params,
    );
    if (rows instanceof Response) return rows;
    const results = rows.map((r) => ({
      probe_asn: Number(r.probe_asn),
      probe_cc: String(r.probe_cc),
      domain: String(r.domain),
      start_time: utcIso(r.ts),
      count_isp_resolver: Number(r.count_isp_resolver ?? 0),
      count_other_resolver: Number(r.count_other_resolver ?? 0),
      count: Number(r.count ?? 0),
      dns_isp_blocked: numOrNull(r.dns_isp_blocked),
      dns_other_blocked: numOrNull(r.dns_other_blocked),
      tcp_blocked: numOrNull(r.tcp_blocked),
      tls_blocked: numOrNull(r.tls_blocked),
      change_dir: r.change_dir === null || r.change_dir === undefined ? null : Number(r.change_dir) === -1 ? ("down" as const) : ("up" as const),
      current_state: r.current_state === null || r.current_state === undefined ? null : String(r.current_state),
      s_pos: numOrNull(r.s_pos),
      s_neg: numOrNull(r.s_neg),
      h: numOrNull(r.h),
      block_type: String(r.block_type),
    }));
    return sendCacheableJson(c, { results }, windowLifetime(untilD, new Date(), config.explorer.cache), {}, JSON.stringify(results));
  });
  return app;
}
