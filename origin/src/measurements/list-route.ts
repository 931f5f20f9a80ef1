import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { publicBaseUrl } from "../http/public-base";
import type { AppEnv } from "../app-env";
import { jsonError } from "../http/errors";
import { createRouter } from "../http/router";
import { sendCacheableJson, staticLifetime } from "../http/cache-policy";
import {
  asnListParam,
  asnNumber,
  categoryListParam,
  ccListParam,
  dateParam,
  domainListParam,
  intParam,
  parseInstant,
  runLinkListParam,
  splitList,
  testNameListParam,
} from "../stats/params";
import { readQuery, timeoutResponse } from "../stats/read-query";
import { ErrorBody } from "../stats/schemas";
import { VerificationStatus, verificationStatus } from "./verification";
import { buildListQuery, ORDER_BY, type ListRow, type OrderBy } from "./list";
import { boolParam, inputParam, parseBool, reportIdParam } from "./params";

// GET /api/v1/measurements: search the fastpath table (backend-reference §2), with offset paging.

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_OFFSET = 1_000_000;
const DEFAULT_WINDOW_DAYS = 30;
// backend-reference §10: the list of measurements is cached for a minute.
const LIST_MAX_AGE_S = 60;

const versionList = (what: string) =>
  z
    .string()
    .regex(/^(?:[0-9A-Za-z_.+-]+(?:,[0-9A-Za-z_.+-]+)*)?$/, { message: `must be ${what}s (letters, digits, _ . + -), comma separated` })
    .optional()
    .openapi({ description: `${what[0]!.toUpperCase()}${what.slice(1)}s, comma separated`, example: "3.22.0" });

const Query = z.object({
  report_id: reportIdParam.optional(),
  input: inputParam.optional(),
  domain: domainListParam,
  probe_cc: ccListParam,
  probe_asn: asnListParam,
  test_name: testNameListParam,
  category_code: categoryListParam,
  since: dateParam(`Start (inclusive) of measurement_start_time. Default: until − ${DEFAULT_WINDOW_DAYS} days, unless report_id is given`),
  until: dateParam("End (exclusive) of measurement_start_time. Default: tomorrow 00:00 UTC, unless report_id is given"),
  confirmed: boolParam("true: only confirmed blocking (blockpage or middlebox found); false: only unconfirmed"),
  anomaly: boolParam("true: only anomalies (likely blocking); false: only measurements without"),
  failure: boolParam("true: only failed measurements; false: only successful ones"),
  software_version: versionList("software version"),
  test_version: versionList("test version"),
  engine_version: versionList("engine version"),
  ooni_run_link_id: runLinkListParam,
  order_by: z
    .enum(["", ...ORDER_BY])
    .optional()
    .openapi({ description: "Sort key (default measurement_start_time); measurement_uid breaks ties", example: "measurement_start_time" }),
  order: z.enum(["asc", "desc", "ASC", "DESC"]).optional().openapi({ description: "Sort direction (default desc)", example: "desc" }),
  offset: intParam("Rows to skip (default 0)", 0, MAX_OFFSET, 0),
  limit: intParam(`Rows per page (default ${DEFAULT_LIMIT})`, 1, MAX_LIMIT, DEFAULT_LIMIT),
});

const Result = z
  .object({
    measurement_uid: z.string(),
    measurement_url: z.string().openapi({ description: "Where to fetch the body: /api/v1/raw_measurement?measurement_uid=…" }),
    report_id: z.string(),
    probe_cc: z.string(),
    probe_asn: z.string().openapi({ example: "AS30722" }),
    test_name: z.string(),
    measurement_start_time: z.string().openapi({ example: "2024-02-14T09:06:17Z" }),
    input: z.string().nullable(),
    anomaly: z.boolean(),
    confirmed: z.boolean(),
    failure: z.boolean(),
    scores: z.record(z.string(), z.unknown()),
    verification_status: VerificationStatus,
  })
  .openapi("MeasurementListItem");

const MeasurementList = z
  .object({
    metadata: z.object({
      offset: z.number().int(),
      limit: z.number().int(),
      count: z.number().int().openapi({ description: "Total rows matching, or -1 while more pages follow" }),
      pages: z.number().int().openapi({ description: "Total pages, or -1 while more pages follow" }),
      current_page: z.number().int(),
      next_url: z.string().nullable().openapi({ description: "The next page, or null on the last one" }),
      query_time: z.number().openapi({ description: "Seconds spent in the database" }),
    }),
    results: z.array(Result),
  })
  .openapi("MeasurementList");

const route = createRoute({
  method: "get",
  path: "/api/v1/measurements",
  tags: ["measurements"],
  summary: "Search measurements (fastpath table), newest first, with offset paging",
  description:
    "Filters combine with AND; comma lists match any of their values. An exact `input` makes `domain` and " +
    "`category_code` redundant (they are ignored, as in the legacy API). Without `probe_cc`/`probe_asn`, " +
    "measurements from ZZ/AS0 (unknown network) are left out; asking for them by name is a 400.",
  request: { query: Query },
  responses: {
    200: { description: "A page of measurements", content: { "application/json": { schema: MeasurementList } } },
    400: { description: "Invalid parameter (named in `parameter`)", content: { "application/json": { schema: ErrorBody } } },
    504: { description: "The query exceeded its time limit", content: { "application/json": { schema: ErrorBody } } },
  },
});

/** The public base URL: the host the client used (http/public-base.ts). */
export function baseUrl(c: Context<AppEnv>): string {
  return publicBaseUrl(c);
}

export function rawMeasurementUrl(base: string, uid: string): string {
  const u = new URL("/api/v1/raw_measurement", base);
  u.searchParams.set("measurement_uid", uid);
  return u.toString();
}

function parseScores(s: string): Record<string, unknown> {
  try {
    const v = JSON.parse(s) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function measurementListRoutes() {
  const app = createRouter();
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const { config, db } = c.get("services");
    const bad = (parameter: string, error: string) =>
      jsonError(c, 400, `invalid ${parameter}: ${error}`, { parameter, in: "query" }) as never;

    const probeCcs = splitList(q.probe_cc);
    if (probeCcs.includes("ZZ")) return bad("probe_cc", "ZZ (unknown country) is not searchable");
    const probeAsns = splitList(q.probe_asn).map(asnNumber);
    if (probeAsns.includes(0)) return bad("probe_asn", "AS0 (unknown network) is not searchable");

    let since = q.since ? parseInstant(q.since) : null;
    let until = q.until ? parseInstant(q.until) : null;
    const reportId = q.report_id || null;
    // The legacy default window: the last 30 days up to tomorrow, unless a report is named.
    if (!until && !reportId) {
      const now = new Date();
      until = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
    }
    if (!since && !reportId && until) since = new Date(until.getTime() - DEFAULT_WINDOW_DAYS * 86_400_000);
    if (since && until && since.getTime() >= until.getTime()) return bad("until", "must be later than since");

    const limit = q.limit ? Number(q.limit) : DEFAULT_LIMIT;
    const offset = q.offset ? Number(q.offset) : 0;
    const { query, params } = buildListQuery({
      reportId,
      input: q.input ? q.input : null,
      domains: splitList(q.domain),
      categoryCodes: splitList(q.category_code),
      probeCcs,
      probeAsns,
      testNames: splitList(q.test_name),
      since,
      until,
      anomaly: parseBool(q.anomaly),
      confirmed: parseBool(q.confirmed),
      failure: parseBool(q.failure),
      softwareVersions: splitList(q.software_version),
      testVersions: splitList(q.test_version),
      engineVersions: splitList(q.engine_version),
      runLinkIds: splitList(q.ooni_run_link_id),
      orderBy: (q.order_by || "measurement_start_time") as OrderBy,
      order: (q.order ?? "desc").toLowerCase() as "asc" | "desc",
      offset,
      fetch: limit + 1,
    });

    let result;
    try {
      result = await readQuery<ListRow>(db, query, params, config.explorer.queryTimeoutS);
    } catch (err) {
      return timeoutResponse(c, err) as never;
    }
    const more = result.rows.length > limit;
    const base = baseUrl(c);
    const results = result.rows.slice(0, limit).map((r) => ({
      measurement_uid: r.measurement_uid,
      measurement_url: rawMeasurementUrl(base, r.measurement_uid),
      report_id: r.report_id,
      probe_cc: r.probe_cc,
      probe_asn: `AS${r.probe_asn}`,
      test_name: r.test_name,
      measurement_start_time: r.start_iso,
      input: r.input === "" ? null : r.input,
      anomaly: r.anomaly === "t",
      confirmed: r.confirmed === "t",
      failure: r.msm_failure === "t",
      scores: parseScores(r.scores),
      verification_status: verificationStatus(r.is_verified),
    }));

    let nextUrl: string | null = null;
    if (more) {
      const next = new URL("/api/v1/measurements", base);
      for (const [k, v] of new URL(c.req.url).searchParams) next.searchParams.append(k, v);
      next.searchParams.set("offset", String(offset + limit));
      next.searchParams.set("limit", String(limit));
      nextUrl = next.toString();
    }
    const count = more ? -1 : offset + results.length;
    const metadata = {
      offset,
      limit,
      count,
      pages: more ? -1 : Math.ceil(count / limit),
      current_page: Math.floor(offset / limit) + 1,
      next_url: nextUrl,
      query_time: result.stats.elapsed_seconds,
    };
    // query_time changes run to run; the tag covers what the response means.
    return sendCacheableJson(
      c,
      { metadata, results },
      staticLifetime(LIST_MAX_AGE_S),
      {},
      JSON.stringify({ ...metadata, query_time: 0, results }),
    ) as never;
  });
  return app;
}
