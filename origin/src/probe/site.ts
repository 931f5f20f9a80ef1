import type { Context } from "hono";
import { BRIDGE_HOST_HEADER, BRIDGE_LEGACY_HELPERS_HEADER } from "#shared/edge-protocol";
import type { AppEnv } from "../app-env";
import { bridgeLegacyOf, bridgeOriginOf, type RequestSite } from "./test-helpers";

/** Who is asking and through which bridge: what per-client lists depend on. */
export function siteOf(c: Context<AppEnv>): RequestSite {
  return {
    clientIp: c.get("clientIp"),
    bridgeOrigin: bridgeOriginOf(c.get("viaEdge"), c.req.header(BRIDGE_HOST_HEADER), c.req.header("x-forwarded-proto")),
    baseUrl: c.get("services").config.baseUrl,
    bridgeLegacy: bridgeLegacyOf(c.get("viaEdge"), c.req.header(BRIDGE_LEGACY_HELPERS_HEADER)),
  };
}
