import { timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../app-env";
import { socketAddress } from "../http/client-ip";
import { jsonError } from "../http/errors";
import { createRouter } from "../http/router";
import type { Services } from "../services";
import { bindServiceCollectors } from "./collectors";
import type { Metrics } from "./registry";
import type { MetricsConfig } from "./settings";

/**
 * The route label is the matched route *pattern* (e.g. /api/v1/measurement/:measurement_uid), never
 * the raw path: raw paths carry ids and would give Prometheus one series per measurement. Anything
 * no route matched (404s, scanners) shares the label "unmatched".
 */
function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  let routes;
  try {
    routes = matchedRoutes(c);
  } catch {
    return "unmatched";
  }
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    // app.use() middleware is registered as method ALL on a wildcard; it is not a route.
    if (r.method === "ALL" && (r.path === "/*" || r.path === "*")) continue;
    return r.path;
  }
  return "unmatched";
}

/** Counts and times every response; mounted outside the quota middleware so 429s are seen. */
export function requestMetricsMiddleware(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const t0 = performance.now();
    await next();
    const status = c.res.status;
    metrics.observeRequest(c.req.method, routeLabel(c), status, (performance.now() - t0) / 1000);
    // The quota middleware's refusal is the only 429 that carries X-RateLimit-Remaining: 0.
    if (status === 429 && c.res.headers.get("X-RateLimit-Remaining") === "0") metrics.observeQuotaRejection();
  };
}

function allowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr, bits] = cidr.split("/") as [string, string | undefined];
    const family = isIP(addr) === 6 ? "ipv6" : "ipv4";
    const prefix = bits === undefined ? (family === "ipv6" ? 128 : 32) : Number(bits);
    list.addSubnet(addr, prefix, family);
  }
  return list;
}

function tokenMatches(header: string | undefined, token: Buffer | null): boolean {
  if (!token || !header?.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice("Bearer ".length));
  return given.length === token.length && timingSafeEqual(given, token);
}

const route = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["operations"],
  summary: "Prometheus metrics (only for scrapers on METRICS_ALLOWLIST or with METRICS_SECRET)",
  responses: {
    200: { description: "Prometheus text exposition format", content: { "text/plain": { schema: z.string() } } },
    403: { description: "not an allowed scraper" },
  },
});

/**
 * GET /metrics. Served only to direct scrapers: a request relayed by the edge is refused (the
 * bridge is public), and the socket address must be on METRICS_ALLOWLIST unless the request
 * carries METRICS_SECRET as a bearer.
 */
export function metricsRoutes(metrics: Metrics, services: Services, cfg: MetricsConfig) {
  bindServiceCollectors(metrics, services);
  const allowed = allowList(cfg.allowlist);
  const token = cfg.bearerSecret ? Buffer.from(cfg.bearerSecret) : null;
  const app = createRouter();
  app.openapi(route, async (c) => {
    const viaEdge = c.get("viaEdge");
    const ip = socketAddress(c);
    const family = isIP(ip) === 6 ? "ipv6" : "ipv4";
    const ok = tokenMatches(c.req.header("authorization"), token) || (!viaEdge && isIP(ip) !== 0 && allowed.check(ip, family));
    if (!ok) return jsonError(c, 403, "metrics are served to allowed scrapers only") as never;
    c.header("Cache-Control", "no-store");
    return c.body(await metrics.render(), 200, { "Content-Type": metrics.contentType }) as never;
  });
  return app;
}
