import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "../auth/middleware";
import { fail } from "../auth/respond";
import { createRouter } from "../http/router";

// Operators' view of who is using the API most: the keys with the least budget left.

const Entry = z.object({
  key: z.string().openapi({ description: "client network (e.g. 203.0.113.0/24) or account id" }),
  day_s: z.number(),
  week_s: z.number(),
  month_s: z.number(),
});
const Summary = z
  .object({
    enabled: z.boolean(),
    networks: z.array(Entry),
    accounts: z.array(Entry),
  })
  .openapi("QuotasSummary");
const ErrorBody = z.object({ error: z.string() }).passthrough();
const err = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

const route = createRoute({
  method: "get",
  path: "/api/_/quotas_summary",
  tags: ["operations"],
  summary: "Quota budgets left (seconds), lowest daily budget first (admin)",
  description: "Only keys that have used part of their budget are listed; a full budget is not stored.",
  security: [{ bearerAuth: [] }],
  middleware: [requireRole("admin")] as const,
  request: {
    query: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100).openapi({ description: "entries per list" }) }),
  },
  responses: {
    200: { description: "Budgets", content: { "application/json": { schema: Summary } } },
    400: err("Invalid parameter"),
    401: err("Authentication required"),
    403: err("Role not authorized"),
    503: err("The quota store cannot be read"),
  },
});

export function quotaRoutes() {
  const app = createRouter();
  app.openapi(route, (c) => {
    const { quotas } = c.get("services");
    if (!quotas) return c.json({ enabled: false, networks: [], accounts: [] }, 200);
    try {
      return c.json({ enabled: true, ...quotas.summary(c.req.valid("query").limit) }, 200);
    } catch (e) {
      c.get("services").log.error({ req_id: c.get("requestId"), err: (e as Error).message }, "quota summary failed");
      return fail(c, 503, "quota store unavailable");
    }
  });
  return app;
}
