import { isIP } from "node:net";

// Address handling with the semantics of Python's urllib/ipaddress, which upstream's transformer
// uses: a hostname is lower-cased and taken from the netloc without brackets or port, a port that is
// not a number makes the whole address unusable.

/** Probes replace their own address with "[scrubbed]"; parsers need a plain token. */
export function fixAddress(address: string): string {
  return address.includes("[scrubbed]") ? address.replaceAll("[scrubbed]", "scrubbed") : address;
}

export interface HostPort {
  hostname: string | null;
  port: number | null;
}

/** `host:port`, `[v6]:port` or a bare host, as urlsplit("//" + address) reads it. */
export function splitNetloc(netloc: string): HostPort {
  const hostPart = netloc.slice(netloc.lastIndexOf("@") + 1);
  let hostname: string;
  let portText: string | null = null;
  if (hostPart.includes("[")) {
    const afterOpen = hostPart.slice(hostPart.indexOf("[") + 1);
    const close = afterOpen.indexOf("]");
    hostname = close < 0 ? afterOpen : afterOpen.slice(0, close);
    const rest = close < 0 ? "" : afterOpen.slice(close + 1);
    if (rest.startsWith(":")) portText = rest.slice(1);
  } else {
    const colon = hostPart.indexOf(":");
    hostname = colon < 0 ? hostPart : hostPart.slice(0, colon);
    if (colon >= 0) portText = hostPart.slice(hostPart.lastIndexOf(":") + 1);
  }
  let port: number | null = null;
  if (portText !== null && portText !== "") {
    if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) throw new RangeError(`invalid port in ${netloc}`);
    port = Number(portText);
  }
  return { hostname: hostname === "" ? null : hostname.toLowerCase(), port };
}

/** The hostname of a URL, as urlparse(url).hostname: null when the URL has no `//` authority. */
export function urlHostname(url: string): string | null {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url) ?? /^\/\/([^/?#]*)/.exec(url);
  if (!m) return null;
  try {
    return splitNetloc(m[1]!).hostname;
  } catch {
    // urlparse itself does not validate the port; only .port does.
    const host = m[1]!.slice(m[1]!.lastIndexOf("@") + 1);
    return host.split(":")[0]!.toLowerCase() || null;
  }
}

export function isIpAddress(s: string): boolean {
  return isIP(s) !== 0;
}
