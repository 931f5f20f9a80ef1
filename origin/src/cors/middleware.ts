import type { MiddlewareHandler } from "hono";
import { applyCorsHeaders, corsAnswer, originMatcher, type CorsPolicy } from "#shared/cors";

// Every route, every answer (errors, 404s and 429s included): a browser that cannot read an error
// shows "Network Error" instead of it. Preflights are answered here, before quotas and routes.
export function corsMiddleware(policy: CorsPolicy): MiddlewareHandler {
  const allowed = originMatcher(policy.allowedOrigins);
  return async (c, next) => {
    const answer = corsAnswer(policy, allowed, {
      method: c.req.method,
      origin: c.req.header("origin") ?? null,
      requestMethod: c.req.header("access-control-request-method") ?? null,
      requestHeaders: c.req.header("access-control-request-headers") ?? null,
    });
    if (answer.kind === "preflight") {
      return new Response(null, { status: 204, headers: { ...answer.headers, "cache-control": "no-store" } });
    }
    if (answer.kind === "refused") {
      return new Response(JSON.stringify({ error: answer.error }), {
        status: 400,
        headers: { "content-type": "application/json", "cache-control": "no-store", vary: "Origin" },
      });
    }
    await next();
    try {
      applyCorsHeaders(c.res.headers, answer.headers);
    } catch {
      // An answer with immutable headers (a proxied fetch): copy it once.
      c.res = new Response(c.res.body, c.res);
      applyCorsHeaders(c.res.headers, answer.headers);
    }
  };
}
