import { Hono } from "hono";
import { ROBOTS_MAX_AGE_S, ROBOTS_TXT } from "#shared/robots";
import { PLAIN_REQUEST_ID, REQUEST_ID_HEADER } from "#shared/edge-protocol";
import { serveHelperRequest } from "./balancer/failover";
import { bridgeEndpoints } from "./bridge/endpoints";
import { matchCacheRoute } from "./cache/key";
import { serveCached } from "./cache/serve";
import { withTrustedClientAddress } from "./client-address";
import { addCors, corsFor, preflightAnswer } from "./cors";
import { EdgeConfigError, runtimeFor, type EdgeEnv } from "./env";
import { jsonError } from "./errors";
import { forwardToOrigin } from "./forward";
import { destination } from "./routes";

export { BridgeState } from "./state/durable-object";

// The bridge answers on any hostname: only the operator's test-helper hostnames (routes.ts) look at
// the name a client used. A probe that reaches us through whatever name is not blocked gets the
// same API. Routes use new URL(req.url), never the Host header alone.
const app = new Hono<{ Bindings: EdgeEnv }>();

// robots.txt needs no configuration: it is served even when BRIDGE_CONFIG is broken.
app.get("/robots.txt", () =>
  new Response(ROBOTS_TXT, {
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": `public, max-age=${ROBOTS_MAX_AGE_S}` },
  }),
);

app.route("/", bridgeEndpoints);

app.all("*", async (c) => {
  const req = withTrustedClientAddress(c.req.raw, c.env.LOCAL_CLIENT_ADDRESS);
  const given = c.req.header(REQUEST_ID_HEADER);
  const requestId = given !== undefined && PLAIN_REQUEST_ID.test(given) ? given : crypto.randomUUID();
  const rt = runtimeFor(c.env);
  const url = new URL(req.url);
  let res: Response;
  if (destination(req.method, url, rt) === "helper") {
    res = await serveHelperRequest(req, rt, c.env, c.executionCtx, requestId);
  } else {
    const cors = corsFor(req, rt.cors, url.pathname);
    const preflight = preflightAnswer(cors);
    if (preflight) {
      res = preflight;
    } else {
      const route = matchCacheRoute(rt.cache, url.pathname);
      res = route ? await serveCached(req, rt, route, c.env, c.executionCtx, requestId) : await forwardToOrigin(req, rt.origin, requestId);
      res = addCors(res, cors);
    }
  }
  // This request's id, also on answers that come from the cache (stored with another request's).
  res.headers.set(REQUEST_ID_HEADER, requestId);
  return res;
});

app.onError((err) => {
  if (err instanceof EdgeConfigError) return jsonError(503, "bridge misconfigured", { detail: err.message, problems: err.problems });
  console.error(JSON.stringify({ event: "unhandled_error", error: String(err), stack: (err as Error).stack }));
  return jsonError(500, "internal error");
});

export default {
  fetch: app.fetch,
  /** Cron trigger (wrangler.toml [triggers]): one round of active health checks. */
  async scheduled(_controller, env, _ctx) {
    const rt = runtimeFor(env);
    if (rt.pool.size > 0) await rt.state.runChecks(env);
  },
} satisfies ExportedHandler<EdgeEnv>;
