// Cache keys. A key names what the answer depends on — path and query — and nothing the client
// happens to send: query parameters are sorted, tracking parameters dropped, the hostname ignored
// (the bridge answers alike on every name). The route's generation is part of the key, so bumping it
// purges the whole route at once.
import type { CacheRouteConfig } from "../../../bridge-config/schema";

export interface CacheRoutes {
  /** Longest prefix first, so the most specific route wins. */
  readonly routes: readonly CacheRouteConfig[];
  readonly tracking: ReadonlySet<string>;
  readonly host: string;
}

export function compileCacheRoutes(routes: readonly CacheRouteConfig[], tracking: readonly string[], name: string): CacheRoutes {
  return {
    routes: [...routes].sort((a, b) => b.prefix.length - a.prefix.length),
    tracking: new Set(tracking),
    host: `https://${name}.bridge-cache.invalid`,
  };
}

/** "/api/v1/measurement" covers itself and "/api/v1/measurement/…", not "/api/v1/measurements". */
export function underPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith("/") || path.charCodeAt(prefix.length) === 47;
}

export function matchCacheRoute(c: CacheRoutes, path: string): CacheRouteConfig | null {
  for (const r of c.routes) if (underPrefix(path, r.prefix)) return r;
  return null;
}

/** Path plus normalized query: the part of the key that does not change with purges. */
export function baseKey(c: CacheRoutes, url: URL): string {
  if (url.search.length <= 1) return url.pathname;
  const kept: [string, string][] = [];
  for (const [k, v] of url.searchParams) if (!c.tracking.has(k)) kept.push([k, v]);
  if (kept.length === 0) return url.pathname;
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return `${url.pathname}?${new URLSearchParams(kept).toString()}`;
}

/**
 * The Cache API key: a URL on a name that cannot exist, carrying the route's generation (and, for a
 * per_host route, the hostname the client used; URL purges still go by `base`, so they cover every
 * hostname's entry).
 */
export function cacheKey(c: CacheRoutes, base: string, generation: number, host?: string): string {
  return host === undefined ? `${c.host}/g${generation}${base}` : `${c.host}/g${generation}/@${encodeURIComponent(host.toLowerCase())}${base}`;
}
