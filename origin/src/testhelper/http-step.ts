import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { ipFamily, mayConnect, type BogonPolicy } from "./bogon";
import { CookieJar } from "./cookie-jar";
import { abortReason, deadline } from "./deadline";
import {
  classifyResolverError,
  classifyTlsError,
  FAILURE,
  httpMapFailure,
  OoniFailure,
  type Operation,
} from "./failures";
import { allValues, firstValues, forwardedHeaders } from "./headers";
import { htmlTitle } from "./html-title";
import type { TlsTrust } from "./options";
import { bareHost, resolveHost, type Resolver } from "./resolver";

export interface HttpRequestResult {
  body_length: number;
  discovered_h3_endpoint: string;
  failure: string | null;
  title: string;
  headers: Record<string, string>;
  status_code: number;
}

export interface HttpStepConfig {
  url: URL;
  probeHeaders: Readonly<Record<string, readonly string[]>>;
  resolver: Resolver;
  policy: BogonPolicy;
  trust: TlsTrust;
  timeoutMs: number;
  maxBodyBytes: number;
  maxRedirects: number;
  signal?: AbortSignal;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Node's 16 KiB default rejects pages Go's client reads fine (Go allows ~1 MiB of response headers).
const MAX_RESPONSE_HEADER_BYTES = 1 << 20;

function failed(failure: string | null): HttpRequestResult {
  return { body_length: -1, discovered_h3_endpoint: "", failure, title: "", headers: {}, status_code: -1 };
}

/** Go's refererForURL: the previous URL without credentials or fragment, never https → http. */
function refererFor(last: URL, next: URL): string | undefined {
  if (last.protocol === "https:" && next.protocol === "http:") return undefined;
  const ref = new URL(last.href);
  ref.username = "";
  ref.password = "";
  ref.hash = "";
  return ref.href;
}

/** One GET on a fresh connection to the addresses we already resolved and vetted. */
function roundTrip(
  url: URL,
  headers: OutgoingHttpHeaders,
  addrs: readonly string[],
  trust: TlsTrust,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const host = bareHost(url.hostname);
  // Node skips lookup for IP literals; for names it must connect to what we checked, not re-resolve.
  const lookup = ((_hostname, options, callback) => {
    const first = addrs[0] ?? "";
    if (options.all) callback(null, addrs.map((address) => ({ address, family: ipFamily(address) })));
    else callback(null, first, ipFamily(first));
  }) as LookupFunction;
  const common = {
    hostname: host,
    port: url.port === "" ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: "GET",
    headers,
    agent: false as const,
    signal,
    lookup,
    maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
  };
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req =
      url.protocol === "https:"
        ? httpsRequest({
            ...common,
            rejectUnauthorized: true,
            ...(ipFamily(host) === 0 ? { servername: host } : {}),
            ...(trust.ca !== undefined ? { ca: trust.ca } : {}),
          })
        : httpRequest(common);
    req.once("response", resolve);
    req.on("error", reject); // `on`: a late second error must not go unhandled
    req.end();
  });
}

/** Reads at most `max` bytes; stops reading (and drops the connection) once there. */
async function readBounded(res: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    if (length + buf.length >= max) {
      chunks.push(buf.subarray(0, max - length));
      length = max;
      break;
    }
    chunks.push(buf);
    length += buf.length;
  }
  return Buffer.concat(chunks, length);
}

/**
 * http_request: GET the URL like a browser (redirects with a cookie jar and Referer, the probe's
 * Accept/Accept-Language/User-Agent on every hop), never touching bogons. Failures before a final
 * response give -1/-1; a failure while reading the final body keeps the status and headers and
 * reports body_length 0, as oohelperd does.
 */
export async function httpStep(cfg: HttpStepConfig): Promise<HttpRequestResult> {
  const dl = deadline(cfg.signal, cfg.timeoutMs);
  const jar = new CookieJar();
  const forwarded = forwardedHeaders(cfg.probeHeaders);
  let url = new URL(cfg.url.href);
  url.hash = "";
  let referer: string | undefined;
  let operation: Operation = "resolve";
  try {
    for (let redirects = 0; ; redirects++) {
      operation = "resolve";
      const addrs = await resolveHost(cfg.resolver, url.hostname, dl.signal);
      // oohelperd wraps its HTTP resolver in a bogon filter: one bogon answer fails the fetch.
      if (addrs.some((a) => !mayConnect(a, cfg.policy))) throw new OoniFailure(FAILURE.dnsBogon, "resolve");

      operation = "http_round_trip";
      const headers: OutgoingHttpHeaders = { ...forwarded };
      const cookie = jar.header(url);
      if (cookie !== undefined) headers["Cookie"] = cookie;
      if (referer !== undefined) headers["Referer"] = referer;
      const res = await roundTrip(url, headers, addrs, cfg.trust, dl.signal);
      jar.store(url, allValues(res.rawHeaders, "set-cookie"));

      const status = res.statusCode ?? -1;
      const location = REDIRECT_STATUSES.has(status) ? allValues(res.rawHeaders, "location")[0] : undefined;
      // Like Go, a 3xx without Location is a final response.
      if (location !== undefined && location !== "") {
        res.destroy();
        if (redirects >= cfg.maxRedirects) {
          throw new OoniFailure(`unknown_failure: stopped after ${cfg.maxRedirects} redirects`, operation);
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new OoniFailure("unknown_failure: invalid redirect location", operation);
        }
        if (next.protocol !== "http:" && next.protocol !== "https:") {
          throw new OoniFailure("unknown_failure: unsupported protocol scheme", operation);
        }
        next.hash = "";
        referer = refererFor(url, next);
        url = next;
        continue;
      }

      operation = "read";
      const responseHeaders = firstValues(res.rawHeaders);
      try {
        const body = await readBounded(res, cfg.maxBodyBytes);
        return {
          body_length: body.length,
          discovered_h3_endpoint: "",
          failure: null,
          title: htmlTitle(body.toString("utf8")),
          headers: responseHeaders,
          status_code: status,
        };
      } catch (err) {
        res.destroy();
        const failure = abortReason(dl.signal)?.failure ?? classifyTlsError(err);
        return {
          body_length: 0,
          discovered_h3_endpoint: "",
          failure: httpMapFailure(failure, operation),
          title: "",
          headers: responseHeaders,
          status_code: status,
        };
      }
    }
  } catch (err) {
    const failure =
      abortReason(dl.signal)?.failure ??
      (operation === "resolve" ? classifyResolverError(err) : classifyTlsError(err));
    return failed(httpMapFailure(failure, operation));
  } finally {
    dl.dispose();
  }
}
