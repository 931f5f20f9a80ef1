import { createRoute, z } from "@hono/zod-openapi";
import { jsonError } from "../http/errors";
import { answerCheckIn, categoryList, CheckInRequest } from "./checkin";
import { createProbeRouter, noStore, smallJsonBody } from "./router";
import { errors, TestHelpers, TestListUrl } from "./schemas";
import { siteOf } from "./site";

export { CHECK_IN_TESTS } from "./checkin";

// POST /api/v1/check-in: where the probe learns its network (from our GeoIP of its address), gets
// its web_connectivity URLs and a report_id per test. GET /api/v1/test-list/urls: the same URL
// list for people and older clients. POST /api/v1/geolookup: GeoIP for a list of addresses.

const CheckInResponse = z
  .object({
    v: z.literal(1),
    probe_cc: z.string(),
    probe_asn: z.string(),
    probe_network_name: z.string().nullable(),
    utc_time: z.string(),
    conf: z.object({ features: z.record(z.string(), z.boolean()), test_helpers: TestHelpers }),
    tests: z.record(z.string(), z.object({ report_id: z.string(), urls: z.array(TestListUrl).optional() })),
  })
  .openapi("CheckInResponse");

const checkIn = createRoute({
  method: "post",
  path: "/api/v1/check-in",
  tags: ["probe services"],
  summary: "Probe check-in: network, URL test list, report ids, configuration",
  middleware: [smallJsonBody] as const,
  request: { body: { required: true, content: { "application/json": { schema: CheckInRequest } } } },
  responses: {
    200: { description: "what the probe should run", content: { "application/json": { schema: CheckInResponse } } },
    ...errors,
  },
});

const UrlsQuery = z.object({
  country_code: z.string().regex(/^[A-Za-z]{2}$/).optional(),
  probe_cc: z.string().regex(/^[A-Za-z]{2}$/).optional(),
  category_codes: z.string().regex(/^[A-Za-z, ]{0,2000}$/).optional(),
  limit: z.coerce.number().int().min(-1).max(9999).refine((n) => n !== 0, { error: "must be -1 or 1..9999" }).optional(),
  debug: z.enum(["true", "false", "1", "0", "yes", "no", "True", "False"]).optional(),
});

const testListUrls = createRoute({
  method: "get",
  path: "/api/v1/test-list/urls",
  tags: ["probe services"],
  summary: "Prioritized web_connectivity URL list for a country",
  request: { query: UrlsQuery },
  responses: {
    200: {
      description: "URL list",
      content: {
        "application/json": {
          schema: z.object({
            metadata: z.object({ count: z.number(), current_page: z.number(), limit: z.number(), next_url: z.string(), pages: z.number() }),
            results: z.array(TestListUrl),
          }),
        },
      },
    },
    ...errors,
  },
});

const ip = z.union([z.ipv4(), z.ipv6()], { error: "must be an IP address" });
const geolookup = createRoute({
  method: "post",
  path: "/api/v1/geolookup",
  tags: ["probe services"],
  summary: "Country and network of IP addresses",
  middleware: [smallJsonBody] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: z.object({ addresses: z.array(ip).max(1000) }) } } },
  },
  responses: {
    200: {
      description: "GeoIP answers; unknown fields are null",
      content: {
        "application/json": {
          schema: z.object({
            v: z.literal(1),
            geolocation: z.record(z.string(), z.object({ cc: z.string().nullable(), asn: z.number().nullable(), as_name: z.string().nullable() })),
          }),
        },
      },
    },
    ...errors,
  },
});

export function checkInRoutes() {
  const app = createProbeRouter();

  app.openapi(checkIn, async (c) => {
    const outcome = answerCheckIn(c.get("services"), c.req.valid("json"), siteOf(c));
    if (!outcome.ok) return jsonError(c, outcome.status, outcome.error, outcome.extra) as never;
    return c.body(outcome.chunks.join(""), 200, { ...noStore, "Content-Type": "application/json" }) as never;
  });

  app.openapi(testListUrls, async (c) => {
    const q = c.req.valid("query");
    const cc = (q.country_code ?? q.probe_cc ?? "ZZ").toUpperCase();
    const limit = q.limit === undefined || q.limit === -1 ? 9999 : q.limit;
    const debug = q.debug !== undefined && ["true", "1", "yes"].includes(q.debug.toLowerCase());
    const { items } = await c
      .get("services")
      .probe.testLists.generate({ cc, asn: 0, categoryCodes: categoryList(q.category_codes), limit, debug });
    return c.json(
      { metadata: { count: items.length, current_page: -1, limit: -1, next_url: "", pages: 1 }, results: items },
      200,
      { "Cache-Control": "public, max-age=1" },
    );
  });

  app.openapi(geolookup, (c) => {
    const { addresses } = c.req.valid("json");
    const { geoip } = c.get("services");
    const geolocation: Record<string, { cc: string | null; asn: number | null; as_name: string | null }> = {};
    for (const address of addresses) {
      const g = geoip.lookup(address);
      geolocation[address] = { cc: g.cc === "ZZ" ? null : g.cc, asn: g.asn === 0 ? null : g.asn, as_name: g.as_name };
    }
    return c.json({ v: 1 as const, geolocation }, 200, noStore);
  });

  return app;
}
