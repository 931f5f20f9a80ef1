import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../http/router";
import { statsResponse } from "../respond";
import { notModified } from "../schemas";
import { TEST_NAMES } from "../test-groups";

// Small fixed answers Explorer and old probes still ask for.

const tags = ["explorer statistics"];

const testNames = createRoute({
  method: "get",
  path: "/api/_/test_names",
  tags,
  summary: "Test names and their display names",
  responses: {
    200: {
      description: "All known tests",
      content: {
        "application/json": {
          schema: z.object({ test_names: z.array(z.object({ id: z.string(), name: z.string() })) }).openapi("TestNames"),
        },
      },
    },
    ...notModified,
  },
});

const checkReportId = createRoute({
  method: "get",
  path: "/api/_/check_report_id",
  tags,
  summary: "Legacy: always answers found (probes asked whether a report existed; ooni/probe#1034)",
  request: {
    query: z.object({
      report_id: z.string().max(200).optional().openapi({ description: "Ignored" }),
    }),
  },
  responses: {
    200: {
      description: "Always found",
      content: { "application/json": { schema: z.object({ v: z.literal(0), found: z.literal(true) }).openapi("CheckReportId") } },
    },
    ...notModified,
  },
});

export function miscRoutes() {
  const app = createRouter();
  app.openapi(testNames, (c) =>
    statsResponse(c, "test_names", async () => ({
      test_names: Object.entries(TEST_NAMES).map(([id, name]) => ({ id, name })),
    })),
  );
  app.openapi(checkReportId, (c) => statsResponse(c, "check_report_id", async () => ({ v: 0, found: true })));
  return app;
}
