import { Hono } from "hono";
import { ROBOTS_MAX_AGE_S, ROBOTS_TXT } from "#shared/robots";
import { REQUEST_ID_HEADER } from "#shared/edge-protocol";
import { EdgeConfigError, edgeSettings, type EdgeEnv } from "./env";
import { jsonError } from "./errors";
import { forwardToOrigin } from "./forward";

// The bridge answers on any hostname: nothing below looks at the Host header. A probe that reaches
// us through whatever name is not blocked gets the same API.
const app = new Hono<{ Bindings: EdgeEnv }>();

app.get("/robots.txt", () =>
  new Response(ROBOTS_TXT, {
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": `public, max-age=${ROBOTS_MAX_AGE_S}` },
  }),
);

app.all("*", (c) => {
  const requestId = c.req.header(REQUEST_ID_HEADER)?.slice(0, 64) || crypto.randomUUID();
  return forwardToOrigin(c.req.raw, edgeSettings(c.env), requestId);
});

app.onError((err) => {
  if (err instanceof EdgeConfigError) return jsonError(503, "bridge misconfigured", { detail: err.message });
  return jsonError(500, "internal error");
});

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<EdgeEnv>;
