import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * http/errors.ts jsonError with the status kept as a literal type, so @hono/zod-openapi can check
 * each answer against the route's declared responses. Same shape: `{"error": ...}`, no-store.
 */
export function fail<S extends ContentfulStatusCode>(c: Context, status: S, error: string, extra: Record<string, string | number | boolean> = {}) {
  c.header("Cache-Control", "no-store");
  return c.json({ error, ...extra }, status);
}
