import { ipFamily, isBogon, mayConnect, type BogonPolicy } from "./bogon";
import { joinHostPort, parseIpEndpoint } from "./endpoint";

// ip_info flag bits (model.THIPInfoFlag*).
export const FLAG_RESOLVED_BY_PROBE = 1;
export const FLAG_RESOLVED_BY_TH = 2;
export const FLAG_IS_BOGON = 4;
export const FLAG_VALID_FOR_DOMAIN = 8;

export interface IpInfo {
  asn: number;
  flags: number;
}

/**
 * Distinct addresses taken from the probe's tcp_connect list; the rest are ignored (neither dialled
 * nor in ip_info). oohelperd has no cap and dials every address it is given (3,001 in the issue's
 * test), on one or two ports each, which makes any client a connection amplifier. Only the addresses
 * count — oohelperd, like us, dials the URL's port(s), never the probe's — and the probe sends what
 * its resolvers returned for one name (getaddrinfo, DoH, UDP; A and AAAA): a few to a few dozen.
 * 64 is well above that, and bounds one request to 128 dials plus our own DNS answer.
 */
export const MAX_PROBE_ADDRESSES = 64;

/** Which party saw each address: the probe (its tcp_connect list) and/or us (our DNS answer). */
export function discoveredBy(probeEndpoints: readonly string[], helperAddrs: readonly string[]): Map<string, number> {
  const flags = new Map<string, number>();
  let fromProbe = 0;
  for (const endpoint of probeEndpoints) {
    const parsed = parseIpEndpoint(endpoint);
    if (!parsed) continue;
    const seen = flags.get(parsed.address);
    if (seen === undefined) {
      if (fromProbe >= MAX_PROBE_ADDRESSES) continue;
      fromProbe++;
    }
    flags.set(parsed.address, (seen ?? 0) | FLAG_RESOLVED_BY_PROBE);
  }
  for (const addr of helperAddrs) {
    if (ipFamily(addr) !== 0) flags.set(addr, (flags.get(addr) ?? 0) | FLAG_RESOLVED_BY_TH);
  }
  for (const [addr, f] of flags) if (isBogon(addr)) flags.set(addr, f | FLAG_IS_BOGON);
  return flags;
}

export interface PlannedEndpoint {
  address: string;
  port: number;
  /** "ip:port", the key in tcp_connect / tls_handshake. */
  endpoint: string;
  tls: boolean;
}

/**
 * oohelperd's plan: every non-bogon address on the URL's explicit port, else 443 for https, else both
 * 80 and 443 for http (443 tells whether the address is valid for the domain). The probe's own ports
 * are not used. We handshake on 443 (as oohelperd does) and also on any port of an https URL
 * (oohelperd would not, which leaves https://host:8443/ without tls_handshake).
 */
export function planEndpoints(
  url: URL,
  explicitPort: string | undefined,
  addresses: Iterable<string>,
  policy: BogonPolicy,
): PlannedEndpoint[] {
  let ports: string[] = [];
  if (explicitPort !== undefined) ports = [explicitPort];
  else if (url.protocol === "https:") ports = ["443"];
  else if (url.protocol === "http:") ports = ["80", "443"];
  const out: PlannedEndpoint[] = [];
  for (const address of addresses) {
    if (!mayConnect(address, policy)) continue;
    for (const port of ports) {
      out.push({
        address,
        port: Number(port),
        endpoint: joinHostPort(address, port),
        tls: port === "443" || url.protocol === "https:",
      });
    }
  }
  return out.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}

/**
 * The port written in the URL, if any. WHATWG URL drops a default port ("http://x:80/" → ""), but
 * oohelperd (Go's URL.Port) keeps it, and it decides between measuring [80] and [80, 443].
 */
export function explicitPort(raw: string, url: URL): string | undefined {
  if (url.port !== "") return url.port;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)(?:[/?#]|$)/.exec(raw.trim());
  return m?.[1] !== undefined ? String(Number(m[1])) : undefined;
}
