import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../http/router";
import { publicBaseUrl } from "../../http/public-base";
import { asnNumber, chDateTime, domainRequired, inputParam, intParam, probeAsnRequired, probeCcRequired } from "../params";
import { statsResponse } from "../respond";
import { PageMetadata, notModified, statsErrors } from "../schemas";
import { addDays, startOfUtcDay } from "../windows";

// Explorer's website pages: networks that tested websites, a URL's daily results on one network,
// the URLs tested on one network, and the test-list metadata of a domain.

const tags = ["explorer statistics"];
const responses = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  200: { description, content: { "application/json": { schema } } },
  ...notModified,
  ...statsErrors,
});

const websiteNetworks = createRoute({
  method: "get",
  path: "/api/_/website_networks",
  tags,
  summary: "Networks of one country with web_connectivity measurements in the last 31 days",
  request: { query: z.object({ probe_cc: probeCcRequired }) },
  responses: responses(
    z.object({ results: z.array(z.object({ count: z.number().int(), probe_asn: z.number().int() })) }).openapi("WebsiteNetworks"),
    "Networks ordered by measurement count, largest first",
  ),
});

const DayCounts = z.object({
  test_day: z.string().openapi({ example: "2024-01-31" }),
  anomaly_count: z.number().int(),
  confirmed_count: z.number().int(),
  failure_count: z.number().int(),
  total_count: z.number().int(),
});
const websiteStats = createRoute({
  method: "get",
  path: "/api/_/website_stats",
  tags,
  summary: "Daily results for one URL on one network, last 31 complete days",
  request: {
    query: z.object({
      input: inputParam.openapi({ description: "The URL (matched with and without a trailing /)", example: "https://twitter.com/" }),
      probe_cc: probeCcRequired,
      probe_asn: probeAsnRequired,
    }),
  },
  responses: responses(z.object({ results: z.array(DayCounts) }).openapi("WebsiteStats"), "Days with measurements, in order"),
});

const UrlCounts = z.object({
  input: z.string(),
  anomaly_count: z.number().int(),
  confirmed_count: z.number().int(),
  failure_count: z.number().int(),
  total_count: z.number().int(),
});
const websiteUrls = createRoute({
  method: "get",
  path: "/api/_/website_urls",
  tags,
  summary: "URLs tested on one network in the last 31 complete days, most confirmed first",
  request: {
    query: z.object({
      probe_cc: probeCcRequired,
      probe_asn: probeAsnRequired,
      limit: intParam("Page size (0 means the default, 10)", 0, 1000, 10),
      offset: intParam("Rows to skip", 0, 100_000_000, 0),
    }),
  },
  responses: responses(
    z.object({ metadata: PageMetadata, results: z.array(UrlCounts) }).openapi("WebsiteUrls"),
    "A page of URLs; metadata.next_url is set while pages may remain",
  ),
});

const domainMetadata = createRoute({
  method: "get",
  path: "/api/_/domain_metadata",
  tags,
  summary: "A domain's canonical form and primary category in the test lists",
  description:
    "The category of the shortest URL of the domain (with or without www.) in the global list, else " +
    "in any country list; MISC when the domain is in no list.",
  request: { query: z.object({ domain: domainRequired }) },
  responses: responses(
    z.object({ category_code: z.string(), canonical_domain: z.string() }).openapi("DomainMetadata"),
    "Category and canonical domain",
  ),
});

const domains = createRoute({
  method: "get",
  path: "/api/_/domains",
  tags,
  summary: "Every domain in the test lists, its category and web_connectivity measurement count",
  responses: responses(
    z
      .object({
        v: z.literal(0),
        results: z.array(z.object({ domain_name: z.string(), category_code: z.string(), measurement_count: z.number().int() })),
      })
      .openapi("Domains"),
    "Domains ordered by name",
  ),
});

/** [today − 31 days, today) at day boundaries: the last 31 complete UTC days. */
function last31Days(now: Date) {
  const today = startOfUtcDay(now);
  return { from: chDateTime(addDays(today, -31)), to: chDateTime(today) };
}

export function websiteRoutes() {
  const app = createRouter();

  app.openapi(websiteNetworks, (c) =>
    statsResponse(c, "website_networks", async (rows, now) => {
      const { probe_cc } = c.req.valid("query");
      // Rolling 31 × 24 h up to now, as the current upstream service; websites only (upstream
      // counted every test, which lists networks that never tested a website).
      const results = await rows<{ count: number; probe_asn: number }>(
        `SELECT count() AS count, probe_asn
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND probe_cc = {probe_cc:String} AND test_name = 'web_connectivity'
         GROUP BY probe_asn ORDER BY count DESC, probe_asn`,
        { from: chDateTime(addDays(now, -31)), to: chDateTime(now), probe_cc },
      );
      return { results };
    }),
  );

  app.openapi(websiteStats, (c) =>
    statsResponse(c, "website_stats", async (rows, now) => {
      const q = c.req.valid("query");
      const input = q.input;
      const results = await rows<z.infer<typeof DayCounts>>(
        `SELECT toString(toDate(measurement_start_time, 'UTC')) AS test_day,
                countIf(anomaly = 't') AS anomaly_count, countIf(confirmed = 't') AS confirmed_count,
                countIf(msm_failure = 't') AS failure_count, count() AS total_count
         FROM fastpath
         WHERE measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND probe_cc = {probe_cc:String} AND probe_asn = {probe_asn:UInt32}
           AND input IN ({input:String}, {input_trimmed:String})
         GROUP BY test_day ORDER BY test_day`,
        {
          ...last31Days(now),
          probe_cc: q.probe_cc,
          probe_asn: asnNumber(q.probe_asn),
          input,
          input_trimmed: input.replace(/\/+$/, ""),
        },
      );
      return { results };
    }),
  );

  app.openapi(websiteUrls, (c) =>
    statsResponse(c, "website_urls", async (rows, now) => {
      const q = c.req.valid("query");
      const limit = Number(q.limit ?? 10) || 10;
      const offset = Number(q.offset ?? 0);
      const probe_asn = asnNumber(q.probe_asn);
      const where = `measurement_start_time >= {from:DateTime('UTC')} AND measurement_start_time < {to:DateTime('UTC')}
           AND test_name = 'web_connectivity' AND probe_cc = {probe_cc:String} AND probe_asn = {probe_asn:UInt32}`;
      const params = { ...last31Days(now), probe_cc: q.probe_cc, probe_asn, limit, offset };
      const [total] = await rows<{ n: number }>(`SELECT uniqExact(input) AS n FROM fastpath WHERE ${where}`, params);
      const results = await rows<z.infer<typeof UrlCounts>>(
        `SELECT input, countIf(anomaly = 't') AS anomaly_count, countIf(confirmed = 't') AS confirmed_count,
                countIf(msm_failure = 't') AS failure_count, count() AS total_count
         FROM fastpath WHERE ${where}
         GROUP BY input
         ORDER BY confirmed_count DESC, total_count DESC, anomaly_count DESC, input ASC
         LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
        params,
      );
      let next_url: string | null = null;
      if (results.length >= limit) {
        const base = publicBaseUrl(c);
        const qs = new URLSearchParams({ limit: String(limit), offset: String(offset + limit), probe_asn: String(probe_asn), probe_cc: q.probe_cc });
        next_url = `${base.replace(/\/+$/, "")}/api/_/website_urls?${qs}`;
      }
      return {
        metadata: { offset, limit, current_page: Math.ceil(offset / limit) + 1, total_count: total?.n ?? 0, next_url },
        results,
      };
    }),
  );

  app.openapi(domainMetadata, (c) =>
    statsResponse(c, "domain_metadata", async (rows) => {
      const { domain } = c.req.valid("query");
      const bare = domain.startsWith("www.") ? domain.slice(4) : domain;
      const candidates = [bare, `www.${bare}`];
      // The global list first; a domain only in country lists falls back to its shortest URL there.
      const [hit] = await rows<{ category_code: string; domain: string }>(
        `SELECT category_code, domain FROM citizenlab
         WHERE domain IN {domains:Array(String)}
         ORDER BY upper(cc) != 'ZZ', length(url), url
         LIMIT 1`,
        { domains: candidates },
      );
      return hit ? { category_code: hit.category_code, canonical_domain: hit.domain } : { category_code: "MISC", canonical_domain: bare };
    }),
  );

  app.openapi(domains, (c) =>
    statsResponse(c, "domains", async (rows) => {
      const results = await rows<{ domain_name: string; category_code: string; measurement_count: number }>(
        `SELECT cz.domain AS domain_name, cz.category_code AS category_code, fp.measurement_count AS measurement_count
         FROM (
           -- the global list's category wins over country lists'
           SELECT domain, argMin(category_code, (upper(cc) != 'ZZ', cc)) AS category_code
           FROM citizenlab GROUP BY domain
         ) AS cz
         LEFT JOIN (
           SELECT domain, count() AS measurement_count FROM fastpath
           WHERE test_name = 'web_connectivity' GROUP BY domain
         ) AS fp ON fp.domain = cz.domain
         ORDER BY domain_name`,
      );
      return { v: 0, results: results.map((r) => ({ ...r, domain_name: r.domain_name.replace(/\.$/, "") })) };
    }),
  );
  return app;
}
