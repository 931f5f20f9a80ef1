import { createHash } from "node:crypto";
import type { Context } from "hono";

// How long the edge (and browsers) may keep an origin response. The rules, written down in
// docs/caching.md ("Origin cache policy"):
// - a response about a time window that ended more than `settleS` ago changes only through rare
//   late uploads → long lifetime (`historicalMaxAgeS`);
// - a window that reaches into the recent past or is open-ended still grows → short lifetime;
// - rolling summaries (the /api/_ statistics) have fixed lifetimes per endpoint (ROLLING below);
// - errors are never cacheable: http/errors.ts sets `no-store` on every error.
// Every cacheable response carries a strong ETag of its body, so a client or the edge revalidates
// with If-None-Match and gets a 304 instead of the body.

export interface CacheSettings {
  historicalMaxAgeS: number;
  recentMaxAgeS: number;
  settleS: number;
}

export interface Lifetime {
  maxAgeS: number;
  /** Why this lifetime: shown in docs and asserted in tests. */
  reason: "historical" | "recent" | "rolling" | "static";
}

/** Lifetime of a response about [since, until): `until` null means "up to now". */
export function windowLifetime(until: Date | null, now: Date, s: CacheSettings): Lifetime {
  if (until !== null && until.getTime() <= now.getTime() - s.settleS * 1000) {
    return { maxAgeS: s.historicalMaxAgeS, reason: "historical" };
  }
  return { maxAgeS: s.recentMaxAgeS, reason: "recent" };
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * Fixed lifetimes for rolling summaries, from the legacy API (backend-reference §10). These windows
 * always touch "now", but they are day- or month-grained overviews that Explorer has always
 * shown up to a day old, and several are full-table scans the edge must absorb. Endpoints the
 * legacy API did not cache at all get the short `recent` lifetime instead (see rollingLifetime).
 */
export const ROLLING = {
  asn_by_month: DAY,
  countries_by_month: DAY,
  countries: DAY,
  country_overview: DAY,
  global_overview: DAY,
  global_overview_by_month: DAY,
  circumvention_stats_by_country: DAY,
  circumvention_runtime_stats: DAY,
  network_stats: DAY,
  asnmeta: 2 * HOUR,
  domain_metadata: 2 * HOUR,
  networks: 2 * HOUR,
  domains: 2 * HOUR,
  test_names: HOUR,
  test_coverage: HOUR,
  website_urls: HOUR,
  im_networks: HOUR,
  im_stats: HOUR,
  check_report_id: 1,
  website_networks: null,
  website_stats: null,
  vanilla_tor_stats: null,
} as const satisfies Record<string, number | null>;

export type RollingEndpoint = keyof typeof ROLLING;

export function rollingLifetime(endpoint: RollingEndpoint, s: CacheSettings): Lifetime {
  const fixed = ROLLING[endpoint];
  return fixed === null ? { maxAgeS: s.recentMaxAgeS, reason: "recent" } : { maxAgeS: fixed, reason: "rolling" };
}

export function staticLifetime(maxAgeS: number): Lifetime {
  return { maxAgeS, reason: "static" };
}

/** A strong validator for a body: same bytes, same tag, on every origin host. */
export function etagOf(body: string | Uint8Array): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}

/** RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const want = etag.replace(/^W\//, "");
  return header.split(",").some((raw) => {
    const t = raw.trim();
    return t === "*" || t.replace(/^W\//, "") === want;
  });
}

/**
 * Sends a cacheable 200 (or 304 when the client already holds this body). Extra headers (e.g.
 * Content-Disposition) go on both.
 */
export function sendCacheable(
  c: Context,
  body: string,
  contentType: string,
  lifetime: Lifetime,
  extraHeaders: Record<string, string> = {},
  /**
   * When the body holds run-specific details (query timings), the tag is computed over the part
   * that means something instead and marked weak: same data, same tag, so revalidation still hits.
   */
  etagBasis?: string,
): Response {
  const etag = etagBasis === undefined ? etagOf(body) : `W/${etagOf(etagBasis)}`;
  const headers: Record<string, string> = {
    "Cache-Control": lifetime.maxAgeS > 0 ? `public, max-age=${lifetime.maxAgeS}` : "no-cache",
    ETag: etag,
    ...extraHeaders,
  };
  // c.body keeps headers earlier middleware prepared (request id); a bare Response would not.
  if (ifNoneMatchHits(c.req.header("If-None-Match"), etag)) return c.body(null, 304, headers);
  return c.body(body, 200, { ...headers, "Content-Type": contentType });
}

export function sendCacheableJson(
  c: Context,
  data: unknown,
  lifetime: Lifetime,
  extraHeaders: Record<string, string> = {},
  etagBasis?: string,
) {
  return sendCacheable(c, JSON.stringify(data), "application/json", lifetime, extraHeaders, etagBasis);
}
