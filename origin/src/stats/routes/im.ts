import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../http/router";
import { asnNumber, chDateTime, probeAsnRequired, probeCcRequired } from "../params";
import { statsResponse } from "../respond";
import { notModified, statsErrors } from "../schemas";
import { IM_TESTS } from "../test-groups";
import { addDays, daysBetween, isoMidnight, startOfUtcDay } from "../windows";

// Explorer's instant-messaging section of a country page.

const tags = ["explorer statistics"];

const ImNetwork = z.object({
  asn: z.number().int(),
  name: z.string(),
  total_count: z.number().int(),
  last_tested: z.string().openapi({ example: "2024-01-31" }),
});
const ImTestNetworks = z
  .object({
    anomaly_networks: z.array(ImNetwork).openapi({ description: "Always empty (as upstream): Explorer derives anomalies itself" }),
    ok_networks: z.array(ImNetwork),
    last_tested: z.string().nullable(),
  })
  .openapi("ImTestNetworks");

const imNetworks = createRoute({
  method: "get",
  path: "/api/_/im_networks",
  tags,
  summary: "Per IM test, the networks of one country that ran it in the last 31 complete days",
  request: { query: z.object({ probe_cc: probeCcRequired }) },
  responses: {
    200: {
      description: "An object keyed by test name (facebook_messenger, signal, telegram, whatsapp); tests without measurements are absent",
      content: { "application/json": { schema: z.record(z.string(), ImTestNetworks).openapi("ImNetworks") } },
    },
    ...notModified,
    ...statsErrors,
  },
});

const imStats = createRoute({
  method: "get",
  path: "/api/_/im_stats",
  tags,
  summary: "Daily measurement counts of one IM test on one network, last 31 days and today",
  request: {
    query: z.object({
      test_name: z.enum(IM_TESTS as [string, ...string[]]).openapi({ example: "telegram" }),
      probe_cc: probeCcRequired,
      probe_asn: probeAsnRequired,
    }),
  },
  responses: {
    200: {
      description: "32 points, one per day, zero-filled; anomaly_count is always null (as upstream)",
      content: {
        "application/json": {
          schema: z
            .object({
              results: z.array(
                z.object({
                  anomaly_count: z.null(),
                  test_day: z.string().openapi({ example: "2024-01-31T00:00:00+00:00" }),
                  total_count: z.number().int(),
                }),
              ),
            })
            .openapi("ImStats"),
        },
      },
    },
    ...notModified,
    ...statsErrors,
  },
});

export function imRoutes() {
  const app = createRouter();

  app.openapi(imNetworks, (c) =>
    statsResponse(c, "im_networks", async (rows, now) => {
      const { probe_cc } = c.req.valid("query");
      const today = startOfUtcDay(now);
      const r = await rows<{ test_name: string; probe_asn: number; total_count: number; last_tested: string }>(
        `SELECT test_name, probe_asn, count() AS total_count,
                toString(toDate(max(measurement_start_time), 'UTC')) AS last_tested
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND probe_cc = {probe_cc:String} AND test_name IN {tests:Array(String)}
         GROUP BY test_name, probe_asn
         ORDER BY test_name ASC, total_count DESC, probe_asn ASC`,
        { from: chDateTime(addDays(today, -31)), to: chDateTime(today), probe_cc, tests: IM_TESTS },
      );
      const out: Record<string, z.infer<typeof ImTestNetworks>> = {};
      for (const x of r) {
        const e = (out[x.test_name] ??= { anomaly_networks: [], ok_networks: [], last_tested: null });
        e.ok_networks.push({ asn: x.probe_asn, name: "", total_count: x.total_count, last_tested: x.last_tested });
        if (e.last_tested === null || e.last_tested < x.last_tested) e.last_tested = x.last_tested;
      }
      return out;
    }),
  );

  app.openapi(imStats, (c) =>
    statsResponse(c, "im_stats", async (rows, now) => {
      const q = c.req.valid("query");
      const today = startOfUtcDay(now);
      const from = addDays(today, -31);
      const r = await rows<{ day: string; total_count: number }>(
        `SELECT toString(toDate(measurement_start_time, 'UTC')) AS day, count() AS total_count
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND probe_cc = {probe_cc:String} AND probe_asn = {probe_asn:UInt32} AND test_name = {test_name:String}
         GROUP BY day`,
        { from: chDateTime(from), to: chDateTime(today), probe_cc: q.probe_cc, probe_asn: asnNumber(q.probe_asn), test_name: q.test_name },
      );
      const counts = new Map(r.map((x) => [x.day, x.total_count]));
      // Upstream pads 32 days, today included (today is always 0: the window ends at midnight).
      const results = daysBetween(from, addDays(today, 1)).map((day) => ({
        anomaly_count: null,
        test_day: isoMidnight(day),
        total_count: counts.get(day) ?? 0,
      }));
      return { results };
    }),
  );
  return app;
}
