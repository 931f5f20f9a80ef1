import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import { EDGE_AUTH_HEADER, FORWARDED_FOR_HEADER } from "#shared/edge-protocol";

// The client address is what GeoIP, quotas and logs key on, so it must not be forgeable: the
// X-Forwarded-For header counts only when the request carries the edge's shared secret. Without the
// secret (or with none configured) the socket peer is the client, whatever headers say.

export interface ClientIpVars {
  clientIp: string;
  viaEdge: boolean;
}

function secretMatches(given: string | undefined, secret: Buffer | null): boolean {
  if (!secret || given === undefined) return false;
  const g = Buffer.from(given);
  return g.length === secret.length && timingSafeEqual(g, secret);
}

function stripMapped(ip: string): string {
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export function socketAddress(c: Context): string {
  try {
    return stripMapped(getConnInfo(c).remote.address ?? "0.0.0.0");
  } catch {
    return "0.0.0.0"; // not running under @hono/node-server (e.g. app.request in a unit test)
  }
}

export function clientIpMiddleware(edgeSecret: string | null): MiddlewareHandler<{ Variables: ClientIpVars }> {
  const secret = edgeSecret ? Buffer.from(edgeSecret) : null;
  return async (c, next) => {
    let ip = socketAddress(c);
    let viaEdge = false;
    if (secretMatches(c.req.header(EDGE_AUTH_HEADER), secret)) {
      viaEdge = true;
      // The edge sets exactly one address; take the first in case a proxy appended more.
      const first = c.req.header(FORWARDED_FOR_HEADER)?.split(",")[0]?.trim();
      if (first && isIP(first)) ip = stripMapped(first);
    }
    c.set("clientIp", ip);
    c.set("viaEdge", viaEdge);
    await next();
  };
}
