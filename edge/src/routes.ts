// Where a request goes. Only the configured helper hostnames look at the name the client used;
// everything else is decided by method and path, so every hostname serves the same API.
import type { Runtime } from "./env";
import { matchesHostname } from "./hostnames";

export type Destination = "robots" | "bridge" | "helper" | "origin";

export const BRIDGE_PREFIX = "/__bridge/";

export function destination(method: string, url: URL, rt: Runtime): Destination {
  const path = url.pathname;
  if (path === "/robots.txt" && (method === "GET" || method === "HEAD")) return "robots";
  if (path.startsWith(BRIDGE_PREFIX) || path === "/__bridge") return "bridge";
  // The legacy bridges' rule (HAProxy: POST to exactly "/"), and the hostname rule (*.th.<domain>).
  if (method === "POST" && path === "/") return "helper";
  if (matchesHostname(rt.helperHosts, url.hostname)) return "helper";
  return "origin";
}
