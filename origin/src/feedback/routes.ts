import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "../auth/middleware";
import { queryRows, type Database } from "../db/clickhouse";
import { createRouter } from "../http/router";
import { UID_RE } from "../intake/measurement-uid";
import { bearerSecurity, err, jsonBodyLimit, viewerOf } from "../oonirun/write-api";

// Measurement feedback: logged-in people say what they think a measurement shows (blocked, and
// how; ok; site down). One answer per account per measurement — a new one replaces the old — and
// anyone can read the tally. Stored in `msmt_feedback`, ReplacingMergeTree(update_time) ordered by
// (measurement_uid, account_id): reads use FINAL, so the newest answer is the one counted at once.

/** The statuses the legacy API accepted (api/ooniapi/measurements.py, valid_feedback_status). */
export const FEEDBACK_STATUSES = [
  "blocked",
  "blocked.blockpage",
  "blocked.blockpage.http",
  "blocked.blockpage.dns",
  "blocked.blockpage.server_side",
  "blocked.blockpage.server_side.captcha",
  "blocked.dns",
  "blocked.dns.inconsistent",
  "blocked.dns.nxdomain",
  "blocked.tcp",
  "blocked.tls",
  "ok",
  "down",
  "down.unreachable",
  "down.misconfigured",
] as const;

const Uid = z
  .string()
  .trim()
  .regex(UID_RE, { error: "must be a measurement_uid such as 20210208220710.181572_MA_ndt_7888edc7748936bf" });

const Summary = z
  .object({
    summary: z.record(z.string(), z.number()).openapi({ description: "number of accounts per status" }),
    user_feedback: z.string().optional().openapi({ description: "the caller's own answer, when logged in and given" }),
  })
  .openapi("MeasurementFeedback");

const getRoute = createRoute({
  method: "get",
  path: "/api/_/measurement_feedback/{measurement_uid}",
  tags: ["measurements"],
  summary: "Feedback on a measurement: counts per status, and the caller's own",
  request: { params: z.object({ measurement_uid: Uid }) },
  responses: {
    200: { description: "Feedback summary", content: { "application/json": { schema: Summary } } },
    400: err("Invalid measurement_uid"),
  },
});

const postRoute = createRoute({
  method: "post",
  path: "/api/_/measurement_feedback",
  tags: ["measurements"],
  summary: "Give (or replace) your feedback on a measurement (logged in)",
  security: bearerSecurity,
  middleware: [requireRole(), jsonBodyLimit(16 * 1024)] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ measurement_uid: Uid, status: z.enum(FEEDBACK_STATUSES) }).openapi("MeasurementFeedbackSubmit"),
        },
      },
    },
  },
  responses: {
    200: { description: "Stored", content: { "application/json": { schema: z.object({}) } } },
    400: err("Invalid measurement_uid or status"),
    401: err("Authentication required"),
    413: err("Body too large"),
  },
});

export async function feedbackSummary(db: Database, uid: string, accountId: string | null) {
  const rows = await queryRows<{ status: string; mine: number; n: number }>(
    db,
    `SELECT status, account_id = {me:String} AS mine, count() AS n
     FROM msmt_feedback FINAL
     WHERE measurement_uid = {uid:String}
     GROUP BY status, mine`,
    { uid, me: accountId ?? "" },
  );
  const out: { summary: Record<string, number>; user_feedback?: string } = { summary: {} };
  for (const r of rows) {
    out.summary[r.status] = (out.summary[r.status] ?? 0) + Number(r.n);
    if (accountId !== null && Number(r.mine) === 1) out.user_feedback = r.status;
  }
  return out;
}

export function feedbackRoutes() {
  const app = createRouter();

  app.openapi(getRoute, async (c) => {
    const viewer = await viewerOf(c);
    const out = await feedbackSummary(c.get("services").db, c.req.valid("param").measurement_uid, viewer?.accountId ?? null);
    return c.json(out, 200, { "Cache-Control": "no-store" });
  });

  app.openapi(postRoute, async (c) => {
    const { measurement_uid, status } = c.req.valid("json");
    const account = c.get("account");
    await c.get("services").db.client.insert({
      table: "msmt_feedback",
      values: [{ measurement_uid, account_id: account.accountId, status }],
      format: "JSONEachRow",
    });
    c.get("services").log.info({ req_id: c.get("requestId"), account_id: account.accountId, measurement_uid, status }, "measurement feedback");
    return c.json({}, 200);
  });

  return app;
}
