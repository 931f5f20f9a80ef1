import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The one error shape: `{"error": "...", ...extra}`, never cacheable. */
export function jsonError(c: Context, status: ContentfulStatusCode, error: string, extra: Record<string, unknown> = {}) {
  c.header("Cache-Control", "no-store");
  return c.json({ error, ...extra }, status);
}
