import { z } from "@hono/zod-openapi";

// Response shapes the probe parses (probe-contract.md), shared by the route definitions.

export const ErrorBody = z.looseObject({ error: z.string() }).openapi("Error");

export const Service = z
  .object({ address: z.string(), type: z.string(), front: z.string().optional() })
  .openapi("ProbeService");

export const TestHelpers = z.record(z.string(), z.array(Service)).openapi("TestHelpers");

export const TestListUrl = z
  .object({
    category_code: z.string(),
    url: z.string(),
    country_code: z.string().openapi({ description: 'upper case; "XX" for global URLs' }),
    msmt_cnt: z.number().optional(),
    priority: z.number().optional(),
    weight: z.number().optional(),
  })
  .openapi("TestListUrl");

export const errors = {
  400: { description: "invalid request", content: { "application/json": { schema: ErrorBody } } },
} as const;
