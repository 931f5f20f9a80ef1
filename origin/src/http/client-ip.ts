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

export function stripMapped(ip: string): string {
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export function socketAddress(c: Context): string {
  try {
    return stripMapped(getConnInfo(c).remote.address ?? "0.0.0.0");
  } catch {
    return "0.0.0.0"; // not running under @hono/node-server (e.g. app.request in a unit test)
  }
}

/**
 * The client address from the socket peer and the request's headers (looked up by the lower-case
 * names of edge-protocol.ts), trusting X-Forwarded-For only with the edge's secret. A function of
 * its own for the handlers that run outside hono (probe/checkin-direct/), so both apply one rule.
 */
export function clientIpOf(
  socketIp: string,
  header: (lowerCaseName: string) => string | undefined,
  secret: Buffer | null,
): ClientIpVars {
  let ip = socketIp;
  let viaEdge = false;
  if (secretMatches(header(EDGE_AUTH_HEADER), secret)) {
    viaEdge = true;
    // The edge sets exactly one address; take the first in case a proxy appended more.
    const first = header(FORWARDED_FOR_HEADER)?.split(",")[0]?.trim();
    if (first && isIP(first)) ip = stripMapped(first);
  }
  return { clientIp: ip, viaEdge };
}

export function edgeSecretBytes(edgeSecret: string | null): Buffer | null {
  return edgeSecret ? Buffer.from(edgeSecret) : null;
}

export function clientIpMiddleware(edgeSecret: string | null): MiddlewareHandler<{ Variables: ClientIpVars }> {
  const secret = edgeSecretBytes(edgeSecret);
  return async (c, next) => {
    const { clientIp, viaEdge } = clientIpOf(socketAddress(c), (name) => c.req.header(name), secret);
    c.set("clientIp", clientIp);
    c.set("viaEdge", viaEdge);
    await next();
  };
}
