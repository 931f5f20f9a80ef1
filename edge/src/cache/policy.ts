// Whether and for how long an origin answer may be stored, from its Cache-Control (RFC 9111 and
// RFC 5861's stale-while-revalidate / stale-if-error) and the route's settings.
import type { CacheRouteConfig } from "../../../bridge-config/schema";

export interface Directives {
  noStore: boolean;
  noCache: boolean;
  isPrivate: boolean;
  maxAge: number | null;
  sMaxAge: number | null;
  swr: number | null;
  sie: number | null;
}

function seconds(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value.replace(/^"|"$/g, ""));
  return Number.isInteger(n) && n >= 0 ? n : null;
}

export function parseCacheControl(header: string | null): Directives {
  const d: Directives = { noStore: false, noCache: false, isPrivate: false, maxAge: null, sMaxAge: null, swr: null, sie: null };
  if (!header) return d;
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : part.slice(eq + 1).trim();
    switch (name) {
      case "no-store":
        d.noStore = true;
        break;
      case "no-cache":
        d.noCache = true;
        break;
      case "private":
        d.isPrivate = true;
        break;
      case "max-age":
        d.maxAge = seconds(value);
        break;
      case "s-maxage":
        d.sMaxAge = seconds(value);
        break;
      case "stale-while-revalidate":
        d.swr = seconds(value);
        break;
      case "stale-if-error":
        d.sie = seconds(value);
        break;
    }
  }
  return d;
}

export interface StoragePlan {
  ttl: number;
  swr: number;
  sie: number;
}

/**
 * How long to keep `res`, or null: only 200s, never with Set-Cookie, never when the answer varies on
 * anything but Accept-Encoding (the key would not capture it), never no-store/no-cache/private, and
 * only with positive freshness (the origin's s-maxage or max-age, else the route's default_ttl_s).
 */
export function storagePlan(res: Response, route: CacheRouteConfig): StoragePlan | null {
  if (res.status !== 200) return null;
  if (res.headers.has("set-cookie")) return null;
  const vary = res.headers.get("vary");
  if (vary && vary.split(",").some((v) => v.trim().toLowerCase() !== "accept-encoding")) return null;
  const d = parseCacheControl(res.headers.get("cache-control"));
  if (d.noStore || d.noCache || d.isPrivate) return null;
  const ttl = Math.min(d.sMaxAge ?? d.maxAge ?? route.default_ttl_s, route.max_ttl_s);
  if (ttl <= 0) return null;
  return { ttl, swr: d.swr ?? route.stale_while_revalidate_s, sie: d.sie ?? route.stale_if_error_s };
}
