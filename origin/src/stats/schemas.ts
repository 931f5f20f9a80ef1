import { z } from "@hono/zod-openapi";

// Response shapes shared by the Explorer read API, registered as named OpenAPI components.

export const ErrorBody = z
  .object({
    error: z.string(),
    parameter: z.string().optional().openapi({ description: "The query parameter at fault (400)" }),
    in: z.string().optional(),
    limit_s: z.number().optional().openapi({ description: "The query time limit that was exceeded (504)" }),
  })
  .openapi("ExplorerError");

export const DbStatsSchema = z
  .object({
    row_count: z.number().int().openapi({ description: "Rows read" }),
    bytes: z.number().int().openapi({ description: "Bytes read" }),
    total_row_count: z.number().int().openapi({ description: "Rows the query expected to read" }),
    elapsed_seconds: z.number(),
  })
  .openapi("DbStats");

export const DatedValue = z
  .object({
    date: z.string().openapi({ example: "2024-01-01T00:00:00+00:00", description: "Month start, ISO 8601 UTC" }),
    value: z.number().int(),
  })
  .openapi("DatedValue");

export const PageMetadata = z
  .object({
    offset: z.number().int(),
    limit: z.number().int(),
    current_page: z.number().int(),
    total_count: z.number().int(),
    next_url: z.string().nullable(),
  })
  .openapi("PageMetadata");

/** The error responses every Explorer statistics route can give. */
export const statsErrors = {
  400: { description: "Invalid parameter (named in `parameter`)", content: { "application/json": { schema: ErrorBody } } },
  504: { description: "The query exceeded its time limit", content: { "application/json": { schema: ErrorBody } } },
} as const;

export const notModified = { 304: { description: "Not modified (If-None-Match matched the ETag)" } } as const;
