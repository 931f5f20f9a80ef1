// One CORS policy for the origin and the bridge, so a browser sees the same answer whichever it
// reaches. The default matches upstream OONI's services: origins on a single label under ooni.org or
// ooni.io (also under their test. and dev. subdomains), with credentials, for every method and
// header. Public reads (GET/HEAD without credentials) are open to any origin with `*`, like the
// legacy API, so notebooks and third-party pages can read the open data.

export interface CorsPolicy {
  /** Exact origins ("https://run.ooni.org"), patterns where `*` is one DNS label, or "*" for any. */
  allowedOrigins: readonly string[];
  /** Access-Control-Allow-Credentials: true for allowed origins (cookies, Authorization). */
  allowCredentials: boolean;
  /** Answer headers a page may read (Access-Control-Expose-Headers). */
  exposeHeaders: readonly string[];
  /** GET/HEAD from any other origin get `Access-Control-Allow-Origin: *` (never with credentials). */
  publicReads: boolean;
  /** How long a browser may reuse a preflight answer. */
  maxAgeS: number;
}

export const DEFAULT_CORS_ORIGINS: readonly string[] = [
  "https://*.ooni.org",
  "https://*.test.ooni.org",
  "https://*.dev.ooni.org",
  "https://*.ooni.io",
  "https://*.test.ooni.io",
  "https://*.dev.ooni.io",
];

export const DEFAULT_CORS_EXPOSE_HEADERS: readonly string[] = ["X-Request-Id", "X-Cache", "Age", "Retry-After"];

export const DEFAULT_CORS_POLICY: CorsPolicy = {
  allowedOrigins: DEFAULT_CORS_ORIGINS,
  allowCredentials: true,
  exposeHeaders: DEFAULT_CORS_EXPOSE_HEADERS,
  publicReads: true,
  maxAgeS: 600,
};

const ALLOW_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";
/** A header list a browser may send in Access-Control-Request-Headers: tokens and commas only. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;
/** An origin as browsers serialize it: scheme, host, optional port; nothing else. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/;

/** Is `entry` a usable allowed-origin entry? ("*", an origin, or an origin with `*` labels.) */
export function validOriginPattern(entry: string): boolean {
  if (entry === "*") return true;
  return ORIGIN.test(entry.replaceAll("*", "x"));
}

function escapeRegex(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/** A matcher for an origin against the policy's entries (compiled once). */
export function originMatcher(entries: readonly string[]): (origin: string) => boolean {
  if (entries.includes("*")) return (o) => ORIGIN.test(o);
  const res = entries.map((e) => new RegExp(`^${escapeRegex(e.toLowerCase()).replaceAll("*", "[-a-z0-9]+")}$`));
  return (o) => ORIGIN.test(o) && res.some((re) => re.test(o.toLowerCase()));
}

export type CorsAnswer =
  /** A preflight: answer it now with these headers and no body. */
  | { kind: "preflight"; status: 204; headers: Record<string, string> }
  /** A preflight from an origin the policy refuses. */
  | { kind: "refused"; status: 400; error: string }
  /** An ordinary request: add these headers to whatever the route answers. */
  | { kind: "headers"; headers: Record<string, string> };

export interface CorsRequest {
  method: string;
  origin: string | null;
  requestMethod: string | null;
  requestHeaders: string | null;
}

/** What the policy says about one request. */
export function corsAnswer(policy: CorsPolicy, allowed: (origin: string) => boolean, req: CorsRequest): CorsAnswer {
  const method = req.method.toUpperCase();
  const origin = req.origin;
  const ok = origin !== null && allowed(origin);
  const read = (m: string) => m === "GET" || m === "HEAD";
  if (method === "OPTIONS" && origin !== null && req.requestMethod !== null) {
    // Public reads are simple GETs that need no preflight; one that does (it sends a bearer or a
    // custom header) comes from a page that must be on the list.
    if (!ok) return { kind: "refused", status: 400, error: "origin not allowed by the CORS policy" };
    const headers: Record<string, string> = {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": ALLOW_METHODS,
      "access-control-max-age": String(policy.maxAgeS),
      vary: "Origin",
    };
    if (policy.allowCredentials) headers["access-control-allow-credentials"] = "true";
    // Every header is allowed (as upstream); echo the list only when it is a plain token list.
    const asked = req.requestHeaders?.trim();
    if (asked && HEADER_LIST.test(asked)) headers["access-control-allow-headers"] = asked;
    return { kind: "preflight", status: 204, headers };
  }
  const headers: Record<string, string> = { vary: "Origin" };
  if (ok) {
    headers["access-control-allow-origin"] = origin;
    if (policy.allowCredentials) headers["access-control-allow-credentials"] = "true";
  } else if (policy.publicReads && read(method)) {
    headers["access-control-allow-origin"] = "*";
  } else {
    return { kind: "headers", headers };
  }
  if (policy.exposeHeaders.length > 0) headers["access-control-expose-headers"] = policy.exposeHeaders.join(", ");
  return { kind: "headers", headers };
}

/** The part of the Fetch API's Headers used here (shared code sees neither Node's nor Workers' types). */
export interface HeaderBag {
  keys(): Iterable<string>;
  get(name: string): string | null;
  set(name: string, value: string): void;
  delete(name: string): void;
}

/** Set the answer's CORS headers (replacing any it had; Vary is extended, not replaced). */
export function applyCorsHeaders(target: HeaderBag, headers: Record<string, string>): void {
  for (const name of [...target.keys()]) if (name.startsWith("access-control-")) target.delete(name);
  for (const [name, value] of Object.entries(headers)) {
    if (name === "vary") {
      const have = target.get("vary");
      if (!have) target.set("vary", value);
      else if (!have.split(",").some((v) => v.trim().toLowerCase() === value.toLowerCase() || v.trim() === "*")) target.set("vary", `${have}, ${value}`);
    } else {
      target.set(name, value);
    }
  }
}
