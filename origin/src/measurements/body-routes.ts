import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { isBlobStoreError } from "../blobstore";
import { jsonError } from "../http/errors";
import { createRouter } from "../http/router";
import { etagOf, ifNoneMatchHits, sendCacheableJson, staticLifetime } from "../http/cache-policy";
import { ErrorBody } from "../stats/schemas";
import { findMeasurementBody, type MeasurementBody } from "./body";
import { measurementMeta, uidFor } from "./meta";
import { VerificationStatus } from "./verification";
import { boolParam, inputParam, lookupUidParam, measurementUidParam, parseBool, reportIdParam } from "./params";

// One measurement: its body (raw_measurement, measurement/{uid}) and its metadata
// (measurement_meta). Bodies are immutable; Cache-Control follows backend-reference §10 for
// archived ones (a day for raw_measurement, an hour for measurement/{uid}) and stays short for
// fresh ones still in the spool (CACHE_RECENT_MAX_AGE_S). Metadata is cached for a minute: the
// fastpath may still rescore.

const DAY = 86_400;
const HOUR = 3_600;
const META_MAX_AGE_S = 60;

const NotFound = { description: "No such measurement", content: { "application/json": { schema: ErrorBody } } };
const Invalid = { description: "Invalid parameter (named in `parameter`)", content: { "application/json": { schema: ErrorBody } } };
const Unavailable = { description: "The archive is unreachable", content: { "application/json": { schema: ErrorBody } } };
const BodyContent = {
  "application/json": { schema: z.record(z.string(), z.unknown()).openapi({ description: "The measurement, byte for byte as submitted" }) },
};

const rawRoute = createRoute({
  method: "get",
  path: "/api/v1/raw_measurement",
  tags: ["measurements"],
  summary: "One measurement's body, by measurement_uid or by report_id + input",
  request: {
    query: z.object({
      measurement_uid: measurementUidParam.optional(),
      report_id: reportIdParam.optional(),
      input: inputParam.optional(),
    }),
  },
  responses: { 200: { description: "The measurement", content: BodyContent }, 304: { description: "Not modified" }, 400: Invalid, 404: NotFound, 503: Unavailable },
});

const byUidRoute = createRoute({
  method: "get",
  path: "/api/v1/measurement/{measurement_uid}",
  tags: ["measurements"],
  summary: "One measurement's body by measurement_uid",
  request: {
    params: z.object({ measurement_uid: measurementUidParam }),
    query: z.object({ download: boolParam("true: send as a file (Content-Disposition: attachment)") }),
  },
  responses: { 200: { description: "The measurement", content: BodyContent }, 304: { description: "Not modified" }, 400: Invalid, 404: NotFound, 503: Unavailable },
});

const Meta = z
  .object({
    anomaly: z.boolean(),
    category_code: z.string().nullable(),
    confirmed: z.boolean(),
    failure: z.boolean(),
    input: z.string().nullable(),
    measurement_start_time: z.string().openapi({ example: "2021-02-08T23:31:46Z" }),
    measurement_uid: z.string(),
    probe_asn: z.number().int(),
    probe_cc: z.string(),
    raw_measurement: z.string().optional().openapi({ description: "With full=true: the measurement as a JSON string (\"\" when the body is unavailable)" }),
    report_id: z.string(),
    scores: z.string().openapi({ description: "The fastpath scores, as a JSON string" }),
    test_name: z.string(),
    test_start_time: z.string(),
    verification_status: VerificationStatus,
  })
  .partial()
  .openapi("MeasurementMeta", { description: "{} when the measurement is not known (the probe engine expects this shape)" });

const metaRoute = createRoute({
  method: "get",
  path: "/api/v1/measurement_meta",
  tags: ["measurements"],
  summary: "One measurement's metadata (and with full=true its body), by measurement_uid or report_id + input",
  request: {
    query: z.object({
      measurement_uid: lookupUidParam.optional(),
      report_id: reportIdParam.optional(),
      input: inputParam.optional(),
      full: boolParam("true: include the body as raw_measurement"),
    }),
  },
  responses: { 200: { description: "Metadata, or {} when unknown", content: { "application/json": { schema: Meta } } }, 400: Invalid },
});

/** The body with a strong ETag; 304 when the client has it. */
function sendBody(c: Context<AppEnv>, body: MeasurementBody, archivedMaxAgeS: number, extra: Record<string, string> = {}) {
  const maxAge = body.source === "archive" ? archivedMaxAgeS : c.get("services").config.explorer.cache.recentMaxAgeS;
  const etag = etagOf(body.bytes);
  const headers: Record<string, string> = { "Cache-Control": `public, max-age=${maxAge}`, ETag: etag, ...extra };
  if (ifNoneMatchHits(c.req.header("If-None-Match"), etag)) return c.body(null, 304, headers);
  // A copy into a plain ArrayBuffer-backed array: what the Response body type accepts.
  return c.body(new Uint8Array(body.bytes), 200, {
    ...headers,
    "Content-Type": "application/json",
  });
}

async function loadBody(c: Context<AppEnv>, uid: string): Promise<MeasurementBody | Response | null> {
  try {
    return await findMeasurementBody(c.get("services"), uid);
  } catch (err) {
    if (isBlobStoreError(err, "unavailable")) {
      c.get("services").log.warn({ err, measurement_uid: uid }, "blob store unavailable");
      return jsonError(c, 503, "the archive is unavailable; try again later");
    }
    throw err;
  }
}

const notFound = (c: Context<AppEnv>) => jsonError(c, 404, "measurement not found") as never;

export function measurementBodyRoutes() {
  const app = createRouter();

  app.openapi(rawRoute, async (c) => {
    const q = c.req.valid("query");
    const { db } = c.get("services");
    let uid = q.measurement_uid ?? null;
    if (!uid) {
      if (!q.report_id) {
        return jsonError(c, 400, "invalid measurement_uid: give measurement_uid, or report_id (and input)", {
          parameter: "measurement_uid",
          in: "query",
        }) as never;
      }
      uid = await uidFor(db, q.report_id, q.input ?? "");
      if (!uid) return notFound(c);
    }
    const body = await loadBody(c, uid);
    if (body instanceof Response) return body as never;
    if (!body) return notFound(c);
    return sendBody(c, body, DAY) as never;
  });

  app.openapi(byUidRoute, async (c) => {
    const { measurement_uid: uid } = c.req.valid("param");
    const download = parseBool(c.req.valid("query").download) === true;
    const body = await loadBody(c, uid);
    if (body instanceof Response) return body as never;
    if (!body) return notFound(c);
    const extra: Record<string, string> = download ? { "Content-Disposition": `attachment; filename=ooni_measurement-${uid}.json` } : {};
    return sendBody(c, body, HOUR, extra) as never;
  });

  app.openapi(metaRoute, async (c) => {
    const q = c.req.valid("query");
    const services = c.get("services");
    let key: { uid: string } | { reportId: string; input: string };
    if (q.measurement_uid) key = { uid: q.measurement_uid };
    else if (q.report_id) key = { reportId: q.report_id, input: q.input ?? "" };
    else {
      return jsonError(c, 400, "invalid measurement_uid: give measurement_uid, or report_id (and input)", {
        parameter: "measurement_uid",
        in: "query",
      }) as never;
    }
    const full = parseBool(q.full) === true;
    const meta = await measurementMeta(services.db, key);
    if (!meta) {
      // The legacy answer the probe engine decodes; not cached, so a measurement scored a moment
      // later is visible at once.
      return c.json(full ? { raw_measurement: "" } : {}, 200, { "Cache-Control": "no-store" }) as never;
    }
    let out: object = meta;
    if (full) {
      let raw = "";
      try {
        const body = await findMeasurementBody(services, meta.measurement_uid);
        raw = body ? body.bytes.toString("utf8") : "";
      } catch (err) {
        // As in the legacy API: the metadata is still worth answering with.
        services.log.warn({ err, measurement_uid: meta.measurement_uid }, "measurement body unavailable for measurement_meta");
      }
      out = Object.fromEntries(Object.entries({ ...meta, raw_measurement: raw }).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return sendCacheableJson(c, out, staticLifetime(META_MAX_AGE_S)) as never;
  });

  return app;
}
