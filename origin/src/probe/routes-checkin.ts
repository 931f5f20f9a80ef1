import { createRoute, z } from "@hono/zod-openapi";
import { formatAsn } from "../geoip/geoip";
import { jsonError } from "../http/errors";
import { generateReportId } from "../intake/report-id";
import { createProbeRouter, noStore, smallJsonBody } from "./router";
import { errors, TestHelpers, TestListUrl } from "./schemas";
import { siteOf } from "./site";
import { testHelpersFor } from "./test-helpers";
import { probeTime } from "./tokens";

// The flags upstream's check-in always sends (ooni/backend ooniapi/services/ooniprobe
// probe_services.py), so a services.json written before one existed still gets it; the file's own
// `features` win. `webconnectivity_0.5` makes the probe run the newer web_connectivity (LTE).
const UPSTREAM_FEATURES: Readonly<Record<string, boolean>> = {
  torsf_enabled: false,
  vanilla_tor_enabled: false,
  openvpn_enabled: false,
  "webconnectivity_0.5": true,
};

// POST /api/v1/check-in: where the probe learns its network (from our GeoIP of its address), gets
// its web_connectivity URLs and a report_id per test. GET /api/v1/test-list/urls: the same URL
// list for people and older clients. POST /api/v1/geolookup: GeoIP for a list of addresses.

/** Tests that get a report_id at check-in (the legacy API's list). */
export const CHECK_IN_TESTS = [
  "bridge_reachability", "dash", "dns_consistency", "dnscheck", "facebook_messenger",
  "http_header_field_manipulation", "http_host", "http_invalid_request_line", "http_requests",
  "meek_fronted_requests_test", "multi_protocol_traceroute", "ndt", "psiphon", "riseupvpn",
  "tcp_connect", "telegram", "tor", "urlgetter", "vanilla_tor", "web_connectivity", "whatsapp",
] as const;

const CategoryCodes = z
  .union([z.array(z.string().regex(/^[A-Za-z]{0,20}$/)).max(100), z.string().regex(/^[A-Za-z,]{0,2000}$/)])
  .openapi({ description: "list of category codes, or a comma-separated string (old clients); empty = all" });

const CheckInRequest = z
  .looseObject({
    charging: z.boolean().default(true),
    on_wifi: z.boolean().optional(),
    platform: z.string().max(100).optional(),
    probe_asn: z.string().regex(/^[Aa][Ss][0-9]{1,10}$/, { error: 'must look like "AS1234"' }).default("AS0"),
    probe_cc: z.string().regex(/^[A-Za-z]{2}$/, { error: "must be two letters" }).default("ZZ"),
    run_type: z.string().max(32).default("timed"),
    software_name: z.string().max(100).optional(),
    software_version: z.string().max(100).optional(),
    web_connectivity: z.looseObject({ category_codes: CategoryCodes.optional() }).nullish(),
  })
  .openapi("CheckInRequest");

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

function categoryList(v: string | string[] | undefined | null): string[] {
  const list = typeof v === "string" ? v.split(",") : (v ?? []);
  return [...new Set(list.map((c) => c.trim().toUpperCase()).filter((c) => c !== ""))];
}

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
    const body = c.req.valid("json");
    const { geoip, config, probe, log } = c.get("services");
    const geo = geoip.lookup(c.get("clientIp"));
    const geoAsn = formatAsn(geo.asn);
    // The probe's own cc/asn drive the list (it may be behind a VPN or tunnel we cannot see
    // through), unless it does not know them.
    let cc = body.probe_cc.toUpperCase();
    let asnText = body.probe_asn.toUpperCase();
    if (cc === "ZZ" && asnText === "AS0") {
      cc = geo.cc;
      asnText = geoAsn;
    }
    const asn = Number(asnText.slice(2));
    if (asn > 0xffffffff) return jsonError(c, 400, "invalid probe_asn: out of range", { parameter: "probe_asn" }) as never;
    const limit = body.run_type === "manual" ? 9999 : body.charging ? 100 : 20;
    const { items, source } = await probe.testLists.generate({
      cc,
      asn,
      categoryCodes: categoryList(body.web_connectivity?.category_codes),
      limit,
    });
    if (source !== "prioritized") log.info({ cc, asn, source, urls: items.length }, "check-in test list from fallback");

    const tests: Record<string, { report_id: string; urls?: typeof items }> = {};
    for (const name of CHECK_IN_TESTS) tests[name] = { report_id: generateReportId(name, cc, asn, config.collectorId) };
    tests.web_connectivity!.urls = items;
    const services = probe.files.services.get();
    return c.json(
      {
        v: 1 as const,
        probe_cc: geo.cc,
        probe_asn: geoAsn,
        probe_network_name: geo.as_name,
        utc_time: probeTime(new Date()),
        conf: { features: { ...UPSTREAM_FEATURES, ...services.features }, test_helpers: testHelpersFor(services, siteOf(c)) },
        tests,
      },
      200,
      noStore,
    );
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
