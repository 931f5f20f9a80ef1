import { ipFamily } from "./bogon";
import { abortReason } from "./deadline";
import { classifyResolverError, dnsMapFailure } from "./failures";
import { bareHost, type Resolver } from "./resolver";

export interface DnsResult {
  failure: string | null;
  addrs: string[];
}

/**
 * The helper's own lookup of the URL's domain. Like oohelperd, an IP-literal URL is not looked up at
 * all and answers `{failure: null, addrs: []}` (the legacy helper's shape); the probe's endpoints then
 * come from its tcp_connect list. `lookup` brings its own budget (dns-hedge.ts).
 */
export async function dnsStep(hostname: string, lookup: Resolver, signal: AbortSignal): Promise<DnsResult> {
  const domain = bareHost(hostname);
  if (ipFamily(domain) !== 0) return { failure: null, addrs: [] };
  try {
    const addrs = await lookup(domain, signal);
    return { failure: null, addrs: [...new Set(addrs)] };
  } catch (err) {
    const failure = abortReason(signal)?.failure ?? classifyResolverError(err);
    return { failure: dnsMapFailure(failure), addrs: [] };
  }
}
