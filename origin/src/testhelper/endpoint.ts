import { ipFamily } from "./bogon";

/** Go's net.JoinHostPort: IPv6 literals in brackets. */
export function joinHostPort(host: string, port: string | number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Go's net.SplitHostPort for the probe's "ip:port" / "[v6]:port" entries, keeping only IP literals
 * (oohelperd silently skips anything else). Returns the address as the probe wrote it.
 */
export function parseIpEndpoint(endpoint: string): { address: string; port: string } | undefined {
  let address: string;
  let port: string;
  if (endpoint.startsWith("[")) {
    const close = endpoint.indexOf("]");
    if (close < 0 || endpoint[close + 1] !== ":") return undefined;
    address = endpoint.slice(1, close);
    port = endpoint.slice(close + 2);
  } else {
    const colon = endpoint.lastIndexOf(":");
    if (colon < 0) return undefined;
    address = endpoint.slice(0, colon);
    port = endpoint.slice(colon + 1);
    if (address.includes(":")) return undefined; // "too many colons": v6 needs brackets
  }
  if (ipFamily(address) === 0) return undefined;
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return undefined;
  return { address, port };
}
