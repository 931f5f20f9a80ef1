// The bridge's own endpoints under /__bridge/: the status page (status token), the cache purge
// (purge token) and a routing lookup (status token). Query strings and bodies are checked with zod.
import { Hono, type Context } from "hono";
import * as z from "zod/mini";
import { describeIssues } from "../../../bridge-config/schema";
import { clientKey, clientNetwork } from "../balancer/client-key";
import { pickBest } from "../balancer/hrw";
import { baseKey, cacheKey, matchCacheRoute, underPrefix } from "../cache/key";
import { runtimeFor, type EdgeEnv, type Runtime } from "../env";
import { jsonError } from "../errors";
import { authorized } from "./auth";
import { buildStatus } from "./status";
import { renderStatusPage } from "./status-page";

type Ctx = Context<{ Bindings: EdgeEnv }>;

const statusQuery = z.strictObject({ format: z.optional(z.enum(["html", "json"])) });
const routeQuery = z.strictObject({ ip: z.union([z.ipv4(), z.ipv6()]) });
const purgeBody = z.union([
  z.strictObject({ url: z.string().check(z.minLength(1), z.maxLength(8192)) }),
  z.strictObject({ prefix: z.string().check(z.regex(/^\/[\x21-\x7e]*$/, "a path starting with /")) }),
]);
const MAX_PURGE_BODY = 64 * 1024;

function badQuery(c: Ctx, error: z.core.$ZodError) {
  return jsonError(400, "invalid query string", { problems: describeIssues(error), path: new URL(c.req.url).pathname });
}

/** 404 while no token is configured (the endpoint does not exist), 401 without the right one. */
async function guard(c: Ctx, token: string | null, realm: string, basic: boolean): Promise<Response | null> {
  if (token === null) return jsonError(404, "not enabled: no token configured", { path: new URL(c.req.url).pathname });
  if (await authorized(c.req.raw, token)) return null;
  const res = jsonError(401, "token required");
  res.headers.set("www-authenticate", basic ? `Basic realm="${realm}", charset="UTF-8"` : `Bearer realm="${realm}"`);
  return res;
}

function maxEntryLifetimeMs(rt: Runtime): number {
  let max = 0;
  for (const r of rt.config.cache.routes) max = Math.max(max, r.max_ttl_s + Math.max(r.stale_while_revalidate_s, r.stale_if_error_s));
  return max * 1000;
}

export const bridgeEndpoints = new Hono<{ Bindings: EdgeEnv }>();

/** A call to the Durable Object, or a 503 JSON when it cannot be reached (rather than a bare 500). */
async function shared<T>(call: () => Promise<T>): Promise<T | Response> {
  try {
    return await call();
  } catch (err) {
    console.error(JSON.stringify({ event: "state_unavailable", error: String(err) }));
    return jsonError(503, "shared bridge state unavailable, try again");
  }
}

bridgeEndpoints.get("/__bridge/status", async (c) => {
  const rt = runtimeFor(c.env);
  const denied = await guard(c, rt.statusToken, "ooni bridge status", true);
  if (denied) return denied;
  const q = statusQuery.safeParse(c.req.query());
  if (!q.success) return badQuery(c, q.error);
  const data = await shared(() => rt.state.status(c.env));
  if (data instanceof Response) return data;
  const report = buildStatus(rt, data, Date.now());
  const headers = { "cache-control": "no-store", "x-robots-tag": "noindex" };
  if (q.data.format === "json") return c.json(report, 200, headers);
  return c.html(renderStatusPage(report), 200, {
    ...headers,
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });
});

bridgeEndpoints.get("/__bridge/route", async (c) => {
  const rt = runtimeFor(c.env);
  const denied = await guard(c, rt.statusToken, "ooni bridge status", true);
  if (denied) return denied;
  const q = routeQuery.safeParse(c.req.query());
  if (!q.success) return badQuery(c, q.error);
  await rt.state.ready(c.env, c.executionCtx);
  const cfg = rt.config.helpers;
  const key = new Uint32Array(2);
  clientKey(q.data.ip, cfg.client_prefix_v4, cfg.client_prefix_v6, key);
  const tried = new Uint8Array(rt.pool.size);
  const order: string[] = [];
  for (;;) {
    const i = pickBest(rt.pool, key[0]!, key[1]!, rt.state.usable, tried);
    if (i < 0) break;
    tried[i] = 1;
    order.push(rt.pool.ids[i]!);
  }
  return c.json({ ip: q.data.ip, network: clientNetwork(q.data.ip, cfg.client_prefix_v4, cfg.client_prefix_v6), helper: order[0] ?? null, failover_order: order }, 200, {
    "cache-control": "no-store",
  });
});

bridgeEndpoints.post("/__bridge/purge", async (c) => {
  const rt = runtimeFor(c.env);
  const denied = await guard(c, rt.purgeToken, "ooni bridge purge", false);
  if (denied) return denied;
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_PURGE_BODY) return jsonError(413, "purge request too large", { limit_bytes: MAX_PURGE_BODY });
  let json: unknown;
  try {
    const text = await c.req.text();
    if (text.length > MAX_PURGE_BODY) return jsonError(413, "purge request too large", { limit_bytes: MAX_PURGE_BODY });
    json = JSON.parse(text);
  } catch {
    return jsonError(400, "purge request is not JSON", { expected: '{"url": "/api/v1/…?…"} or {"prefix": "/api/…"}' });
  }
  const body = purgeBody.safeParse(json);
  if (!body.success) {
    return jsonError(400, "invalid purge request", { problems: describeIssues(body.error), expected: '{"url": "/api/v1/…?…"} or {"prefix": "/api/…"}' });
  }

  if ("url" in body.data) {
    let url: URL;
    try {
      // A path, or a full URL on any of the bridge's hostnames (the hostname does not matter).
      url = new URL(body.data.url, "https://bridge.invalid");
    } catch {
      return jsonError(400, "invalid purge request", { problems: ["url: not a URL or path"] });
    }
    const route = matchCacheRoute(rt.cache, url.pathname);
    if (!route) return jsonError(404, "not under a cached route", { path: url.pathname });
    const base = baseKey(rt.cache, url);
    const snap = await shared(() => rt.state.purgeUrl(c.env, base, maxEntryLifetimeMs(rt)));
    if (snap instanceof Response) return snap;
    // The record above hides the entry everywhere; deleting it here also frees this location's copy.
    // (A per_host route's entries are hidden by the record alone.)
    const deleted = route.per_host ? false : await caches.default.delete(cacheKey(rt.cache, base, snap.generations[route.prefix] ?? 0));
    return c.json({ purged: "url", key: base, route: route.prefix, deleted_here: deleted }, 200, { "cache-control": "no-store" });
  }

  const prefix = body.data.prefix;
  // Every route inside the prefix, and the route that contains it: purging more is safe, less is not.
  const routes = rt.config.cache.routes.filter((r) => underPrefix(r.prefix, prefix) || r.prefix.startsWith(prefix) || underPrefix(prefix, r.prefix));
  if (routes.length === 0) return jsonError(404, "no cached route under this prefix", { prefix });
  const snap = await shared(() =>
    rt.state.bumpGenerations(
      c.env,
      routes.map((r) => r.prefix),
    ),
  );
  if (snap instanceof Response) return snap;
  return c.json(
    { purged: "prefix", prefix, routes: routes.map((r) => ({ prefix: r.prefix, generation: snap.generations[r.prefix] ?? 0 })) },
    200,
    { "cache-control": "no-store" },
  );
});

bridgeEndpoints.all("/__bridge/*", (c) => jsonError(404, "no such bridge endpoint", { path: new URL(c.req.url).pathname }));
bridgeEndpoints.all("/__bridge", (c) => jsonError(404, "no such bridge endpoint", { path: new URL(c.req.url).pathname }));
