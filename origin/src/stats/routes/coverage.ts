import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../http/router";
import { chDateTime, probeCcRequired } from "../params";
import { statsResponse } from "../respond";
import { notModified, statsErrors } from "../schemas";
import { TEST_GROUPS, TEST_GROUP_NAMES, groupOfTest } from "../test-groups";
import { addDays, daysBetween, startOfUtcDay } from "../windows";

// A country page's coverage charts: measurements per test group per day, and networks measured
// per day, over the last 30 complete days.

const Query = z.object({
  probe_cc: probeCcRequired,
  test_groups: z
    .string()
    .superRefine((v, ctx) => {
      const bad = v.split(",").filter((g) => g !== "" && !TEST_GROUPS[g]);
      if (bad.length) ctx.addIssue({ code: "custom", message: `unknown test group ${bad.join(", ")} (known: ${TEST_GROUP_NAMES.join(", ")})` });
    })
    .optional()
    .openapi({ description: "Test groups whose test names the network coverage counts, comma separated", example: "websites,im" }),
});

const TestCoverage = z
  .object({
    network_coverage: z.array(z.object({ test_day: z.string().openapi({ example: "2024-01-31" }), count: z.number().int() })),
    test_coverage: z.array(z.object({ count: z.number().int(), test_day: z.string(), test_group: z.string() })),
  })
  .openapi("TestCoverage");

const route = createRoute({
  method: "get",
  path: "/api/_/test_coverage",
  tags: ["explorer statistics"],
  summary: "Measurements per test group per day, and networks per day, for one country",
  description:
    "test_coverage: every (test group, day) pair for the 30 days ending two days ago, zero-filled. " +
    "network_coverage: distinct ASNs per day for the 30 days ending yesterday, zero-filled, optionally " +
    "restricted to the test names of `test_groups`.",
  request: { query: Query },
  responses: {
    200: { description: "Coverage series", content: { "application/json": { schema: TestCoverage } } },
    ...notModified,
    ...statsErrors,
  },
});

export function coverageRoutes() {
  const app = createRouter();
  app.openapi(route, (c) =>
    statsResponse(c, "test_coverage", async (rows, now) => {
      const { probe_cc, test_groups } = c.req.valid("query");
      const today = startOfUtcDay(now);

      const tcFrom = addDays(today, -32);
      const tcTo = addDays(today, -2);
      const perTest = await rows<{ day: string; test_name: string; n: number }>(
        `SELECT toDate(measurement_start_time, 'UTC') AS day, test_name, count() AS n
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND probe_cc = {probe_cc:String}
         GROUP BY day, test_name`,
        { from: chDateTime(tcFrom), to: chDateTime(tcTo), probe_cc },
      );
      const byGroupDay = new Map<string, number>();
      for (const r of perTest) {
        const g = groupOfTest(r.test_name);
        if (g) byGroupDay.set(`${g} ${r.day}`, (byGroupDay.get(`${g} ${r.day}`) ?? 0) + r.n);
      }
      const tcDays = daysBetween(tcFrom, tcTo);
      const test_coverage = TEST_GROUP_NAMES.flatMap((g) =>
        tcDays.map((day) => ({ count: byGroupDay.get(`${g} ${day}`) ?? 0, test_day: day, test_group: g })),
      );

      const ncFrom = addDays(today, -31);
      const ncTo = addDays(today, -1);
      const groups = (test_groups ?? "").split(",").filter(Boolean);
      const testNames = [...new Set(groups.flatMap((g) => TEST_GROUPS[g] ?? []))].sort();
      const perDay = await rows<{ day: string; n: number }>(
        `SELECT toDate(measurement_start_time, 'UTC') AS day, uniqExact(probe_asn) AS n
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND probe_cc = {probe_cc:String}
           AND (length({test_names:Array(String)}) = 0 OR test_name IN {test_names:Array(String)})
         GROUP BY day`,
        { from: chDateTime(ncFrom), to: chDateTime(ncTo), probe_cc, test_names: testNames },
      );
      const asnsByDay = new Map(perDay.map((r) => [r.day, r.n]));
      const network_coverage = daysBetween(ncFrom, ncTo).map((day) => ({ test_day: day, count: asnsByDay.get(day) ?? 0 }));
      return { network_coverage, test_coverage };
    }),
  );
  return app;
}
