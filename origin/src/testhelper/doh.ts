import { decodeAnswer, encodeQuery, QTYPE_A, QTYPE_AAAA } from "./dns-wire";
import { FAILURE, OoniFailure } from "./failures";
import type { Resolver } from "./resolver";

const MAX_DNS_MESSAGE = 65_535;
const DNS_MESSAGE = "application/dns-message";

/**
 * DNS over HTTPS with the RFC 8484 wire format (POST), A and AAAA in parallel like netxlite's parallel
 * resolver: if both queries fail the A failure wins; if neither has records the answer is empty.
 * `fetchImpl` exists for tests; production uses the global fetch.
 */
export function dohResolver(url: string, fetchImpl: typeof fetch = fetch): Resolver {
  async function query(domain: string, qtype: number, signal: AbortSignal): Promise<string[]> {
    const res = await fetchImpl(url, {
      method: "POST",
      headers: { "content-type": DNS_MESSAGE, accept: DNS_MESSAGE },
      body: encodeQuery(domain, qtype),
      signal,
      redirect: "error",
    });
    const type = res.headers.get("content-type") ?? "";
    if (res.status !== 200 || !type.toLowerCase().startsWith(DNS_MESSAGE)) {
      await res.body?.cancel().catch(() => {});
      throw new OoniFailure(FAILURE.dnsServerMisbehaving, "resolve");
    }
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.byteLength > MAX_DNS_MESSAGE) throw new OoniFailure(FAILURE.dnsServerMisbehaving, "resolve");
    return decodeAnswer(body, qtype);
  }

  return async (domain, signal) => {
    const [a, aaaa] = await Promise.allSettled([query(domain, QTYPE_A, signal), query(domain, QTYPE_AAAA, signal)]);
    if (a.status === "rejected" && aaaa.status === "rejected") throw a.reason;
    return [...(a.status === "fulfilled" ? a.value : []), ...(aaaa.status === "fulfilled" ? aaaa.value : [])];
  };
}
