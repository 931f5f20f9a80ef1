import { matchBody, matchDnsValue, matchHeaders } from "../fingerprints";
import type { Fingerprint, FingerprintSet } from "../fingerprints";
import { pyB64Decode } from "./base64";
import { get, getOr, has, isDict, own, pyIter, truthy } from "./py";
import type { Dict } from "./py";

// Walks a measurement's DNS answers and HTTP responses the way the upstream fastpath does and
// collects the fingerprints they match. "base64" is upstream's binascii.Error (it scores the
// measurement without matches and as failed); "malformed" is where upstream would crash on
// the measurement's shape, which this port scores as failed.

export type MatchFailure = "base64" | "malformed";

const DNS_ANSWER_KEYS = ["ipv4", "hostname", "ipv6"] as const;

function answerValue(answer: unknown): unknown | MatchFailure {
  if (isDict(answer)) {
    // Key presence decides, as `"ipv4" in answer` does, even when the value is null.
    for (const k of DNS_ANSWER_KEYS) if (has(answer, k)) return get(answer, k);
    return "";
  }
  if (typeof answer === "string") {
    return DNS_ANSWER_KEYS.some((k) => answer.includes(k)) ? "malformed" : "";
  }
  if (Array.isArray(answer)) {
    return DNS_ANSWER_KEYS.some((k) => answer.includes(k)) ? "malformed" : "";
  }
  return "malformed";
}

/** DNS matches over test_keys.queries[].answers[] (ipv4, else hostname, else ipv6). */
export function matchDnsAnswers(tk: Dict, set: FingerprintSet, out: Fingerprint[]): MatchFailure | undefined {
  const queries = pyIter(getOr(tk, "queries", []));
  if (!queries) return "malformed";
  for (const q of queries) {
    if (!isDict(q)) return "malformed";
    const answers = pyIter(getOr(q, "answers", []));
    if (!answers) return "malformed";
    // Upstream only looks at an answer while looping over the DNS fingerprints.
    if (set.dns.length === 0) continue;
    for (const answer of answers) {
      const value = answerValue(answer);
      if (value === "malformed") return "malformed";
      if (typeof value === "string") for (const fp of matchDnsValue(set, value)) out.push(fp);
    }
  }
  return undefined;
}

function hasBodyRules(set: FingerprintSet): boolean {
  return set.compiled.bodySubstrings.size > 0 || set.compiled.bodyOther.length > 0;
}

/** Body then header matches of one HTTP response object. */
export function matchResponse(resp: Dict, set: FingerprintSet, out: Fingerprint[]): MatchFailure | undefined {
  const body = own(resp, "body");
  if (isDict(body)) {
    if (has(body, "data") && getOr(body, "format", "") === "base64") {
      const bytes = pyB64Decode(own(body, "data"));
      if (!bytes) return "base64";
      for (const fp of matchBody(set, bytes)) out.push(fp);
    }
    // Any other object body is skipped (upstream logs a probe bug), headers still count.
  } else if (typeof body === "string") {
    for (const fp of matchBody(set, body)) out.push(fp);
  } else if (body !== undefined && body !== null && hasBodyRules(set)) {
    return "malformed";
  }

  const headers = getOr(resp, "headers", {});
  if (!truthy(headers)) return undefined;
  if (!isDict(headers)) return "malformed";
  // Only names some header rule looks at go into the map (most headers have none): the same
  // matches as lower-casing every name (the last value of a name wins, as in upstream's dict), at
  // a fraction of the Map writes.
  const { headerRules, headerNameLengths } = set.compiled;
  let lowered: Map<string, unknown> | undefined;
  for (const name of Object.keys(headers)) {
    // Only names whose lower-case form has the length of some rule's name can match: for an ASCII
    // name that is its own length, so most names are skipped without lower-casing them (case
    // mapping can change the length of a non-ASCII name: those are always lower-cased).
    const n = name.length;
    if ((n >= headerNameLengths.length || headerNameLengths[n] === 0) && isAsciiName(name)) continue;
    const lower = name.toLowerCase();
    if (headerRules.has(lower)) (lowered ??= new Map()).set(lower, headers[name]);
  }
  if (!lowered) return undefined;
  const hits = matchHeaders(set, lowered);
  if (!hits) return "base64";
  for (const fp of hits) out.push(fp);
  return undefined;
}

function isAsciiName(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Web Connectivity: DNS answers first, then every request's response. */
export function matchWebConnectivity(tk: Dict, set: FingerprintSet): Fingerprint[] | MatchFailure {
  const out: Fingerprint[] = [];
  const dnsFailure = matchDnsAnswers(tk, set, out);
  if (dnsFailure) return dnsFailure;
  const requests = pyIter(getOr(tk, "requests", []));
  if (!requests) return "malformed";
  for (const req of requests) {
    if (!isDict(req)) return "malformed";
    const resp = own(req, "response");
    if (resp === undefined || resp === null) continue;
    if (!isDict(resp)) return "malformed";
    const failure = matchResponse(resp, set, out);
    if (failure) return failure;
  }
  return out;
}
