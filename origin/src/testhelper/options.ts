import { pino, type Logger } from "pino";
import { DNS_BUDGET_MS } from "./dns-hedge";
import { dohResolver } from "./doh";
import { systemResolver, type Resolver } from "./resolver";

/** Certificates to trust. Undefined: Node's bundled Mozilla roots (netxlite also pins Mozilla's bundle). */
export interface TlsTrust {
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface TestHelperOptions {
  /** Default: silent. */
  logger?: Logger;
  /** Wins over `dohUrl`. Default: the system resolver (getaddrinfo). */
  resolver?: Resolver;
  /** RFC 8484 endpoint, wire format over POST, e.g. https://dns.google/dns-query. */
  dohUrl?: string;
  /** ASN for ip_info; default answers 0 (unknown), as oohelperd does when its database has no entry. */
  lookupAsn?: (ip: string) => number | Promise<number>;
  /** Exempt loopback from the never-connect-to-bogons rule. Tests only; default false. */
  allowLoopback?: boolean;
  /** Replaces the trusted roots for TLS handshakes and fetches (tests inject a self-signed CA). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The DNS budget, hedged and retried within it (dns-hedge.ts). oohelperd: one 4 s attempt. */
  dnsTimeoutMs?: number;
  /** Whole measurement; connects after a slow DNS answer get what is left (≥ 1 s). Default 19 s. */
  measureBudgetMs?: number;
  /** Connect + handshake, per endpoint. oohelperd: 15 s. */
  tcpTlsTimeoutMs?: number;
  /** The whole GET, redirects and body included. oohelperd: 15 s. */
  httpTimeoutMs?: number;
  /**
   * Requests in one redirect chain before giving up, Go's CheckRedirect rule (len(via) >= 10):
   * 10 in oohelperd and the probe, so 9 redirects are followed and the 10th fails the chain.
   */
  maxRedirects?: number;
  /** Bytes of the measured page we read; the rest is not read. oohelperd: 16 MiB. */
  maxBodyBytes?: number;
  /** Bytes of a control request we accept (413 beyond). oohelperd: 16 MiB. */
  maxRequestBytes?: number;
  /** 503 when this many requests are already in flight. */
  maxInFlight?: number;
  /** The same for User-Agents starting with `ooniprobe-`: real probes get more room than others. */
  maxInFlightOoniprobe?: number;
}

export interface HelperConfig {
  logger: Logger;
  resolver: Resolver;
  lookupAsn: (ip: string) => number | Promise<number>;
  allowLoopback: boolean;
  trust: TlsTrust;
  dnsTimeoutMs: number;
  measureBudgetMs: number;
  tcpTlsTimeoutMs: number;
  httpTimeoutMs: number;
  maxRedirects: number;
  maxBodyBytes: number;
  maxRequestBytes: number;
  maxInFlight: number;
  maxInFlightOoniprobe: number;
}

const MiB = 1 << 20;

export function resolveOptions(opts: TestHelperOptions = {}): HelperConfig {
  return {
    logger: opts.logger ?? pino({ level: "silent" }),
    resolver: opts.resolver ?? (opts.dohUrl !== undefined ? dohResolver(opts.dohUrl) : systemResolver),
    lookupAsn: opts.lookupAsn ?? (() => 0),
    allowLoopback: opts.allowLoopback ?? false,
    trust: opts.ca !== undefined ? { ca: opts.ca } : {},
    dnsTimeoutMs: opts.dnsTimeoutMs ?? DNS_BUDGET_MS,
    measureBudgetMs: opts.measureBudgetMs ?? 19_000,
    tcpTlsTimeoutMs: opts.tcpTlsTimeoutMs ?? 15_000,
    httpTimeoutMs: opts.httpTimeoutMs ?? 15_000,
    maxRedirects: opts.maxRedirects ?? 10,
    maxBodyBytes: opts.maxBodyBytes ?? 16 * MiB,
    maxRequestBytes: opts.maxRequestBytes ?? 16 * MiB,
    maxInFlight: opts.maxInFlight ?? 25,
    maxInFlightOoniprobe: opts.maxInFlightOoniprobe ?? 50,
  };
}
