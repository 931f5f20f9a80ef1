import { mayConnect, type BogonPolicy } from "./bogon";
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
import { firstValues, forwardedHeaders } from "./headers";
import { htmlTitle } from "./html-title";
import { http1Get } from "./http1-client";
import type { TlsTrust } from "./options";
import { resolveHost, type Resolver } from "./resolver";

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

const valuesOf = (fields: readonly [string, string][], name: string) => fields.filter(([k]) => k === name).map(([, v]) => v);

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

/**
 * http_request: GET the URL like a browser (redirects with a cookie jar and Referer, the probe's
 * Accept/Accept-Language/User-Agent on every hop), never touching bogons. Failures before a final
 * response give -1/-1; a failure while reading the final body keeps the status, the headers, the
 * length and title of what was read, and reports the failure — as oohelperd does (io.ReadAll).
 * A connection closed before the body's framing is complete is not a failure there (see
 * PrematureEof in http1-client.ts), so it is not one here either.
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
      const headers: Record<string, string[]> = { ...forwarded };
      const cookie = jar.header(url);
      if (cookie !== undefined) headers["Cookie"] = [cookie];
      if (referer !== undefined) headers["Referer"] = [referer];
      const res = await http1Get({ url, headers, addrs, trust: cfg.trust, signal: dl.signal });
      jar.store(url, valuesOf(res.headers, "Set-Cookie"));

      const status = res.status;
      const location = REDIRECT_STATUSES.has(status) ? valuesOf(res.headers, "Location")[0] : undefined;
      // Like Go, a 3xx without Location is a final response.
      if (location !== undefined && location !== "") {
        res.close();
        // Go's default CheckRedirect: with 10 requests already made (len(via) >= 10) the 11th is
        // never sent and the chain fails. So at most maxRedirects requests, i.e. maxRedirects - 1
        // redirects followed: a 10-redirect chain fails, as it does in oohelperd.
        if (redirects + 1 >= cfg.maxRedirects) {
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
      const { data, error } = await res.readBody(cfg.maxBodyBytes);
      res.close();
      const failure = error === null ? null : httpMapFailure(abortReason(dl.signal)?.failure ?? classifyTlsError(error), operation);
      return {
        body_length: data.length,
        discovered_h3_endpoint: "",
        failure,
        title: htmlTitle(data.toString("utf8")),
        headers: firstValues(res.headers),
        status_code: status,
      };
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
