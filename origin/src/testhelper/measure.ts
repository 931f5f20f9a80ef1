import { measurementScope, raceSignal } from "./deadline";
import { hedgedLookup } from "./dns-hedge";
import { dnsStep } from "./dns-step";
import { httpStep } from "./http-step";
import { discoveredBy, explicitPort, FLAG_VALID_FOR_DOMAIN, planEndpoints, type IpInfo } from "./ipinfo";
import type { HelperConfig } from "./options";
import { bareHost, type Resolver } from "./resolver";
import type { ControlRequest, ControlResponse } from "./schema";
import { tcpTlsStep, type TcpResult, type TlsResult } from "./tcptls-step";

function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function asnOf(config: HelperConfig, ip: string): Promise<number> {
  try {
    const asn = await config.lookupAsn(ip);
    return Number.isInteger(asn) && asn >= 0 ? asn : 0;
  } catch {
    return 0;
  }
}

/**
 * oohelperd's algorithm: our DNS lookup first; then, in parallel, TCP (+TLS) to every endpoint of
 * every non-bogon address either side saw, and the HTTP fetch. `signal` is the client's request: when
 * it goes away, every step stops with "interrupted".
 */
export async function measure(config: HelperConfig, creq: ControlRequest, signal?: AbortSignal): Promise<ControlResponse> {
  const scope = measurementScope(signal);
  try {
    return await measureWithin(config, creq, scope.signal);
  } finally {
    scope.dispose();
  }
}

/**
 * One hedged lookup per name per measurement: the DNS step and the fetch's first hop share it (as
 * oohelperd's DoH resolver would answer both from one cache), so a slow name is asked once, and
 * the fetch does not wait on a second lookup.
 */
function sharedLookup(config: HelperConfig, scope: AbortSignal): Resolver {
  const memo = new Map<string, Promise<string[]>>();
  return (domain, signal) => {
    let p = memo.get(domain);
    if (p === undefined) {
      p = hedgedLookup(config.resolver, domain, scope, { budgetMs: config.dnsTimeoutMs });
      p.catch(() => undefined); // observed by whoever awaits it
      memo.set(domain, p);
    }
    return raceSignal(p, signal);
  };
}

async function measureWithin(config: HelperConfig, creq: ControlRequest, signal: AbortSignal): Promise<ControlResponse> {
  const started = performance.now();
  const url = new URL(creq.http_request);
  const policy = { allowLoopback: config.allowLoopback };
  const lookup = sharedLookup(config, signal);

  // The fetch does not depend on our DNS step's answer (it resolves the name itself, through the
  // shared lookup): start it now rather than after the DNS step as oohelperd does. Same result,
  // one DNS round trip less of latency.
  const http = httpStep({
    url,
    probeHeaders: creq.http_request_headers,
    resolver: lookup,
    policy,
    trust: config.trust,
    timeoutMs: config.httpTimeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    maxRedirects: config.maxRedirects,
    signal,
  });

  const dns = await dnsStep(url.hostname, lookup, signal);
  const flags = discoveredBy(creq.tcp_connect, dns.addrs);
  const endpoints = planEndpoints(url, explicitPort(creq.http_request, url), flags.keys(), policy);
  const serverName = bareHost(url.hostname);
  // A slow DNS answer shortens the connects, so the whole answer stays inside the bridge's 20 s
  // attempt (a connect that would have timed out at 15 s times out sooner: the same failure).
  const connectMs = Math.min(config.tcpTlsTimeoutMs, Math.max(1_000, config.measureBudgetMs - (performance.now() - started)));

  const [connects, httpResult, asns] = await Promise.all([
    Promise.all(
      endpoints.map(async (ep) => ({
        ep,
        result: await tcpTlsStep({
          address: ep.address,
          port: ep.port,
          tls: ep.tls,
          serverName,
          trust: config.trust,
          timeoutMs: connectMs,
          signal,
        }),
      })),
    ),
    http,
    Promise.all([...flags.keys()].map(async (ip) => [ip, await asnOf(config, ip)] as const)),
  ]);

  const tcp: [string, TcpResult][] = [];
  const tls: [string, TlsResult][] = [];
  for (const { ep, result } of connects) {
    tcp.push([ep.endpoint, result.tcp]);
    if (result.tls) {
      tls.push([ep.endpoint, result.tls]);
      // A handshake that verified the certificate for the URL's host proves the address serves it.
      if (result.tls.failure === null) flags.set(ep.address, (flags.get(ep.address) ?? 0) | FLAG_VALID_FOR_DOMAIN);
    }
  }
  const asnByIp = new Map(asns);
  const ipInfo: [string, IpInfo][] = [...flags].map(([ip, f]) => [ip, { asn: asnByIp.get(ip) ?? 0, flags: f }]);

  return {
    tcp_connect: sortedRecord(tcp),
    tls_handshake: sortedRecord(tls),
    quic_handshake: {},
    http_request: httpResult,
    http3_request: null,
    dns,
    ip_info: sortedRecord(ipInfo),
  };
}
