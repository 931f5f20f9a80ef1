import type { Context } from "hono";
import { BRIDGE_HOST_HEADER } from "#shared/edge-protocol";
import type { AppEnv } from "../app-env";

// Links the API hands out (search's next_url, measurement_url) must name the host the client used:
// a bridge hostname that is not blocked for that client, not the origin's own address. Through the
// edge (shared secret checked in client-ip.ts) that is the bridge's hostname and scheme; directly,
// BASE_URL when configured, else the request's own URL.

const HOST = /^([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/;

export function publicBaseUrl(c: Context<AppEnv>): string {
  if (c.get("viaEdge")) {
    const host = c.req.header(BRIDGE_HOST_HEADER);
    const proto = c.req.header("x-forwarded-proto");
    if (host && HOST.test(host) && host.length <= 260 && (proto === "https" || proto === "http")) return `${proto}://${host}`;
  }
  return c.get("services").config.baseUrl ?? new URL(c.req.url).origin;
}
