import { lookup } from "node:dns/promises";
import { ipFamily } from "./bogon";
import { raceSignal } from "./deadline";
import { FAILURE, OoniFailure } from "./failures";

/**
 * Resolves a domain name to IP address strings. Throw a Node-style DNS error (`code: "ENOTFOUND"`, …)
 * or an OoniFailure; an empty list means "no answer".
 */
export type Resolver = (domain: string, signal: AbortSignal) => Promise<string[]>;

/**
 * getaddrinfo through dns.promises.lookup. It cannot be cancelled: on timeout we stop waiting, but the
 * lookup keeps a libuv pool thread until the system gives up — prefer DoH on a busy helper.
 */
export const systemResolver: Resolver = async (domain, signal) => {
  const answers = await raceSignal(lookup(domain, { all: true, verbatim: true }), signal);
  return [...new Set(answers.map((a) => a.address))];
};

/** URL hostnames keep IPv6 literals in brackets; resolvers and sockets want them bare. */
export function bareHost(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/** IP literals resolve to themselves without asking anyone; names go to the resolver. */
export async function resolveHost(resolver: Resolver, hostname: string, signal: AbortSignal): Promise<string[]> {
  const host = bareHost(hostname);
  if (ipFamily(host) !== 0) return [host];
  // Injected resolvers may ignore the signal; the deadline must hold anyway.
  const addrs = await raceSignal(resolver(host, signal), signal);
  if (addrs.length === 0) throw new OoniFailure(FAILURE.dnsNoAnswer, "resolve");
  return addrs;
}
