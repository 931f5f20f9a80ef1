import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../http/router";
import { intParam, probeCcRequired } from "../params";
import { statsResponse } from "../respond";
import { PageMetadata, notModified, statsErrors } from "../schemas";

// Network (ASN) metadata: organisation names from the asnmeta table, and the networks measured.

const tags = ["explorer statistics"];

const asnmeta = createRoute({
  method: "get",
  path: "/api/_/asnmeta",
  tags,
  summary: "The organisation name of an ASN (latest asnmeta entry), or Unknown",
  request: {
    query: z.object({
      asn: z
        .string()
        .regex(/^\d{1,10}$/, { message: "must be an integer ASN" })
        .refine((v) => Number(v) <= 4294967295, { message: "must fit in 32 bits" })
        .openapi({ example: "30722" }),
    }),
  },
  responses: {
    200: { description: "Organisation name", content: { "application/json": { schema: z.object({ org_name: z.string() }).openapi("AsnMeta") } } },
    ...notModified,
    ...statsErrors,
  },
});

const networks = createRoute({
  method: "get",
  path: "/api/_/networks",
  tags,
  summary: "Every network with measurements, its measurement count and organisation name",
  responses: {
    200: {
      description: "Networks ordered by ASN; org_name is empty when asnmeta has no entry",
      content: {
        "application/json": {
          schema: z
            .object({
              v: z.literal(0),
              results: z.array(z.object({ probe_asn: z.number().int(), cnt: z.number().int(), org_name: z.string() })),
            })
            .openapi("Networks"),
        },
      },
    },
    ...notModified,
    ...statsErrors,
  },
});

const NetworkSpeed = z.object({
  asn: z.number().int(),
  asn_name: z.string(),
  download_speed_mbps_median: z.number(),
  upload_speed_mbps_median: z.number(),
  middlebox_detected: z.boolean().nullable(),
  msm_count: z.number(),
  rtt_avg: z.number(),
});
const networkStats = createRoute({
  method: "get",
  path: "/api/_/network_stats",
  tags,
  summary: "Network speed statistics (NDT): not computed, always an empty page (as upstream)",
  request: {
    query: z.object({
      probe_cc: probeCcRequired,
      limit: intParam("Page size", 0, 1000, 10),
      offset: intParam("Rows to skip", 0, 100_000_000, 0),
    }),
  },
  responses: {
    200: {
      description: "An empty page",
      content: { "application/json": { schema: z.object({ metadata: PageMetadata, results: z.array(NetworkSpeed) }).openapi("NetworkStats") } },
    },
    ...notModified,
    ...statsErrors,
  },
});

export function networkRoutes() {
  const app = createRouter();

  app.openapi(asnmeta, (c) =>
    statsResponse(c, "asnmeta", async (rows) => {
      const { asn } = c.req.valid("query");
      const [r] = await rows<{ org_name: string }>(
        "SELECT org_name FROM asnmeta WHERE asn = {asn:UInt32} ORDER BY changed DESC LIMIT 1",
        { asn: Number(asn) },
      );
      return { org_name: r?.org_name ?? "Unknown" };
    }),
  );

  app.openapi(networks, (c) =>
    statsResponse(c, "networks", async (rows) => {
      const results = await rows<{ probe_asn: number; cnt: number; org_name: string }>(
        `SELECT cnts.probe_asn AS probe_asn, cnts.cnt AS cnt, asorgs.org_name AS org_name
         FROM (SELECT probe_asn, count() AS cnt FROM fastpath GROUP BY probe_asn) AS cnts
         LEFT JOIN (SELECT asn, argMax(org_name, changed) AS org_name FROM asnmeta GROUP BY asn) AS asorgs
           ON asorgs.asn = cnts.probe_asn
         ORDER BY probe_asn`,
      );
      return { v: 0, results };
    }),
  );

  app.openapi(networkStats, (c) =>
    statsResponse(c, "network_stats", async () => ({
      metadata: { current_page: 1, limit: 10, next_url: null, offset: 0, total_count: 0 },
      results: [],
    })),
  );
  return app;
}
