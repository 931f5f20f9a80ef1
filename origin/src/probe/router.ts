import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { createRouter } from "../http/router";
import { bodyCap } from "../http/body-limit";
import { jsonError } from "../http/errors";
import { IntakeError } from "../intake/errors";

// Probe-facing routers: the project router plus an error handler that keeps hono's own refusals
// (malformed JSON 400, 415, 413) and intake refusals as what they are — 4xx JSON — instead of the
// app-wide 500.
export function createProbeRouter() {
  const router = createRouter();
  router.onError((err, c) => {
    if (err instanceof IntakeError) return jsonError(c, err.status, err.error, err.extra);
    if (err instanceof HTTPException && err.status < 500) {
      if (!c.req.raw.bodyUsed) closeAfterReply(c);
      return jsonError(c, err.status as ContentfulStatusCode, err.message || "bad request");
    }
    c.get("services").log.error({ req_id: c.get("requestId"), err }, "unhandled error");
    return jsonError(c, 500, "internal error", { request_id: c.get("requestId") });
  });
  return router;
}

/**
 * A refusal sent before the request body was read: the rest of the body is still on the wire, so
 * the connection must not be reused (the server drains or drops it; a client reusing it would see
 * its next request fail).
 */
export function closeAfterReply(c: Context) {
  c.header("Connection", "close");
}

/** JSON bodies of probe calls are small: a check-in is well under 1 KiB. */
export const SMALL_JSON_LIMIT = 64 * 1024;
export const smallJsonBody = bodyCap(SMALL_JSON_LIMIT, (c) => {
  closeAfterReply(c);
  return jsonError(c, 413, "request body too large", { limit_bytes: SMALL_JSON_LIMIT });
});

export const noStore = { "Cache-Control": "no-store" } as const;
