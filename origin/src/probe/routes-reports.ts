import { createRoute, z } from "@hono/zod-openapi";
import { OVERLOAD_RETRY_AFTER_S, Overloaded } from "../intake/overload";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { jsonError } from "../http/errors";
import { IntakeError } from "../intake/errors";
import { SPOOL_FULL_RETRY_AFTER_S, SpoolFullError } from "../intake/spool-space";
import type { Accepted } from "../intake/intake";
import { VERSION } from "../version";
import { closeAfterReply, createProbeRouter, noStore, smallJsonBody } from "./router";
import { ErrorBody } from "./schemas";

// Measurement submission. The bodies of the two submit routes are read raw (they may be gzip or
// zstd encoded and up to MAX_SUBMISSION_BYTES), so the OpenAPI document describes them with plain
// JSON Schema and intake/ parses and validates them with zod after decoding.

const ReportTemplate = z
  .looseObject({
    data_format_version: z.string().max(20),
    format: z.string().max(20),
    probe_asn: z.string().max(20).default("AS0"),
    probe_cc: z.string().max(10).default("ZZ"),
    software_name: z.string().max(100),
    software_version: z.string().max(100),
    test_name: z.string().max(100).default(""),
    test_start_time: z.string().max(40),
    test_version: z.string().max(40),
  })
  .openapi("ReportTemplate");

const refused = {
  400: { description: "refused: malformed, inconsistent, or AS0/ZZ (error: asn_0, cc_zz, asn_invalid, bad_metadata, …)", content: { "application/json": { schema: ErrorBody } } },
} as const;
const submitRefused = {
  ...refused,
  413: { description: "body larger than MAX_SUBMISSION_BYTES (after decoding), or one whose JSON needs more memory to parse than a submission may use", content: { "application/json": { schema: ErrorBody } } },
  415: { description: "unsupported Content-Encoding", content: { "application/json": { schema: ErrorBody } } },
  503: {
    description: "the measurement could not be taken now (spool short of space, a disk error, or the origin shedding load: memory above INTAKE_SHED_RSS_MB or too much waiting to be parsed); Retry-After says when to try again — the probe keeps it",
    headers: { "Retry-After": { schema: { type: "string" } } },
    content: { "application/json": { schema: ErrorBody } } },
} as const;

const Uid = z.object({ measurement_uid: z.string() }).openapi("MeasurementUid");

// Upstream's answer to POST /api/v1/submit_measurement: with a 2xx the measurement is stored,
// verified or not; `error` says why a credential did not verify (docs/anonymous-credentials.md).
const SubmitAnswer = z
  .object({
    measurement_uid: z.string(),
    report_id: z.string(),
    verification_status: z.enum(["verified", "failed", "unverified"]),
    submit_response: z.string().nullable(),
    protocol_version: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi("SubmitMeasurementAnswer");

type Prop = { type: "string" | "object"; enum?: string[] };
const rawBody = (description: string, content: Record<string, Prop>) => ({
  required: true,
  description: `${description} Content-Encoding gzip and zstd are accepted.`,
  content: { "application/json": { schema: { type: "object" as const, required: ["format", "content"], properties: content } } },
});

const openReport = createRoute({
  method: "post",
  path: "/report",
  tags: ["reports"],
  summary: "Open a report: returns a report_id for POST /report/{report_id}",
  middleware: [smallJsonBody] as const,
  request: { body: { required: true, content: { "application/json": { schema: ReportTemplate } } } },
  responses: {
    200: {
      description: "report opened",
      content: {
        "application/json": {
          schema: z.object({ backend_version: z.string(), report_id: z.string(), supported_formats: z.array(z.string()) }),
        },
      },
    },
    ...refused,
  },
});

const ReportIdParam = z.object({ report_id: z.string().openapi({ example: "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD" }) });

const submitToReport = createRoute({
  method: "post",
  path: "/report/{report_id}",
  tags: ["reports"],
  summary: "Submit one measurement into a report; stored durably before the 200",
  request: {
    params: ReportIdParam,
    body: rawBody("`{format: \"json\", content: {measurement}}`.", { format: { type: "string", enum: ["json"] }, content: { type: "object" } }),
  },
  responses: { 200: { description: "stored", content: { "application/json": { schema: Uid } } }, ...submitRefused },
});

const closeReport = createRoute({
  method: "post",
  path: "/report/{report_id}/close",
  tags: ["reports"],
  summary: "Close a report (a no-op kept for old clients)",
  request: { params: ReportIdParam },
  responses: { 200: { description: "closed", content: { "application/json": { schema: z.object({}) } } } },
});

const submitMeasurement = createRoute({
  method: "post",
  path: "/api/v1/submit_measurement",
  tags: ["reports"],
  summary: "Submit one measurement (no report needed); stored durably before the 200",
  request: {
    body: rawBody(
      '`{format: "json", content: "<measurement as a JSON string>", nym, zkp_request, manifest_version, protocol_version}`; the anonymous-credential fields, when present, are verified against the content string and the verdict is stored with the measurement (is_verified); a credential that does not verify never refuses the measurement.',
      { format: { type: "string", enum: ["json"] }, content: { type: "string" } },
    ),
  },
  responses: {
    200: { description: "stored (verified or not: see verification_status)", content: { "application/json": { schema: SubmitAnswer } } },
    ...submitRefused,
  },
});

function answerOf(a: Accepted, protocolVersion: string | null) {
  if (!a.verification) return { measurement_uid: a.measurementUid };
  return {
    measurement_uid: a.measurementUid,
    report_id: a.reportId,
    verification_status: a.verification.status,
    submit_response: a.verification.submitResponse,
    protocol_version: protocolVersion,
    error: a.verification.error,
  };
}

async function accept(c: Context<AppEnv>, work: () => Promise<Accepted>) {
  const log = c.get("services").log;
  try {
    const accepted = await work();
    const { measurementUid, duplicate } = accepted;
    // A retry of something already stored (its 200 was lost): answered with the uid it has.
    if (duplicate) log.info({ req_id: c.get("requestId"), measurement_uid: measurementUid }, "submission already stored: answered with its uid");
    return c.json(answerOf(accepted, c.get("services").probe.anoncred?.protocolVersion ?? null), 200, noStore);
  } catch (err) {
    if (err instanceof IntakeError) {
      log.info({ req_id: c.get("requestId"), status: err.status, reason: err.error }, "submission refused");
      if (err.status === 413 || !c.req.raw.bodyUsed) closeAfterReply(c);
      return jsonError(c, err.status, err.error, err.extra);
    }
    // A 5xx makes a probe keep the measurement and submit it again later (4xx would drop it).
    if (err instanceof SpoolFullError) {
      log.warn({ req_id: c.get("requestId"), free_bytes: err.freeBytes, min_free_bytes: err.minFreeBytes }, "submission refused: spool short of space");
      if (!c.req.raw.bodyUsed) closeAfterReply(c);
      c.header("Retry-After", String(SPOOL_FULL_RETRY_AFTER_S));
      return jsonError(c, 503, "measurement could not be stored", {
        reason: "spool_full",
        retry_after_s: SPOOL_FULL_RETRY_AFTER_S,
        request_id: c.get("requestId"),
      });
    }
    if (err instanceof Overloaded) {
      log.warn({ req_id: c.get("requestId"), reason: err.reason, detail: err.message }, "submission shed: origin overloaded");
      if (!c.req.raw.bodyUsed) closeAfterReply(c);
      c.header("Retry-After", String(OVERLOAD_RETRY_AFTER_S));
      return jsonError(c, 503, "server busy, retry later", {
        reason: err.reason,
        retry_after_s: OVERLOAD_RETRY_AFTER_S,
        request_id: c.get("requestId"),
      });
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EIO" || code === "EROFS" || code === "EACCES") {
      log.error({ req_id: c.get("requestId"), err }, "spool write failed");
      c.header("Retry-After", String(SPOOL_FULL_RETRY_AFTER_S));
      return jsonError(c, 503, "measurement could not be stored", { reason: "spool_error", request_id: c.get("requestId") });
    }
    throw err;
  }
}

export function reportRoutes() {
  const app = createProbeRouter();

  app.openapi(openReport, (c) => {
    const t = c.req.valid("json");
    const { reportId } = c.get("services").probe.intake.openReport(t);
    return c.json({ backend_version: VERSION, report_id: reportId, supported_formats: ["json"] }, 200, noStore);
  });

  app.openapi(submitToReport, (c) => {
    const { report_id } = c.req.valid("param");
    return accept(c, () => c.get("services").probe.intake.submitToReport(report_id, c.req.raw)) as never;
  });

  app.openapi(closeReport, (c) => c.json({}, 200, noStore));

  app.openapi(submitMeasurement, (c) => accept(c, () => c.get("services").probe.intake.submitMeasurement(c.req.raw)) as never);

  return app;
}
