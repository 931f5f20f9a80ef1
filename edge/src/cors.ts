// The bridge answers CORS itself, with the same policy code as the origin (shared/src/cors.ts):
// preflights never reach the origin, and every answer under the configured prefixes — cached,
// forwarded, error — carries headers for the browser that asked, never another browser's (an
// answer stored in the edge cache was filled for someone else's Origin).
import type { BridgeConfig } from "../../bridge-config/schema";
import { applyCorsHeaders, corsAnswer, originMatcher, type CorsAnswer, type CorsPolicy } from "#shared/cors";
import { jsonError } from "./errors";

export interface EdgeCors {
  policy: CorsPolicy;
  allowed: (origin: string) => boolean;
  prefixes: readonly string[];
}

export function compileCors(cfg: BridgeConfig["cors"]): EdgeCors {
  const policy: CorsPolicy = {
    allowedOrigins: cfg.allowed_origins,
    allowCredentials: cfg.allow_credentials,
    exposeHeaders: cfg.expose_headers,
    publicReads: cfg.public_reads,
    maxAgeS: cfg.max_age_s,
  };
  return { policy, allowed: originMatcher(policy.allowedOrigins), prefixes: cfg.path_prefixes };
}

/** What the policy says for this request, or null when the path is outside the CORS prefixes. */
export function corsFor(req: Request, cors: EdgeCors, path: string): CorsAnswer | null {
  if (!cors.prefixes.some((p) => path.startsWith(p))) return null;
  return corsAnswer(cors.policy, cors.allowed, {
    method: req.method,
    origin: req.headers.get("origin"),
    requestMethod: req.headers.get("access-control-request-method"),
    requestHeaders: req.headers.get("access-control-request-headers"),
  });
}

/** The bridge's own answer to a preflight (or its refusal); null for an ordinary request. */
export function preflightAnswer(answer: CorsAnswer | null): Response | null {
  if (answer?.kind === "preflight") return new Response(null, { status: 204, headers: { ...answer.headers, "cache-control": "no-store" } });
  if (answer?.kind === "refused") {
    const res = jsonError(400, answer.error);
    res.headers.set("vary", "Origin");
    return res;
  }
  return null;
}

/** This browser's CORS headers on the answer, replacing whatever the origin or the cache had. */
export function addCors(res: Response, answer: CorsAnswer | null): Response {
  if (answer?.kind !== "headers") return res;
  applyCorsHeaders(res.headers, answer.headers);
  return res;
}

/**
 * The origin's own CORS headers come off its answers before the cache sees them: the bridge sets
 * its own per request, and an origin `Vary: Origin` would otherwise make every answer uncacheable.
 */
export function withoutOriginCors(res: Response): Response {
  for (const name of [...res.headers.keys()]) if (name.startsWith("access-control-")) res.headers.delete(name);
  const vary = res.headers.get("vary");
  if (vary) {
    const rest = vary.split(",").map((v) => v.trim()).filter((v) => v && v.toLowerCase() !== "origin");
    if (rest.length > 0) res.headers.set("vary", rest.join(", "));
    else res.headers.delete("vary");
  }
  return res;
}
