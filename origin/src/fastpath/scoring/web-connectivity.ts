import type { Fingerprint } from "../fingerprints";
import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { matchWebConnectivity } from "./fingerprint-matches";
import { applyFingerprintMatches, detectUnknownFailure } from "./fingerprint-scores";
import { get, has, pyEq } from "./py";
import type { Dict } from "./py";

// web_connectivity (0.4 and 0.5/LTE): the probe's own verdict (`blocking`) plus confirmed
// blocking from fingerprints matched in DNS answers and HTTP responses.

const BLOCKING_TYPES = new Set(["tcp_ip", "dns", "http-diff", "http-failure"]);

function analysis(scores: Scores): Record<string, unknown> {
  const a = scores.analysis;
  if (a && typeof a === "object") return a as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  scores.analysis = fresh;
  return fresh;
}

/** Scores from test keys and matches; null where upstream would crash. */
function scoreWithMatches(msm: Dict, tk: Dict, matches: readonly Fingerprint[]): Scores | null {
  // Only what upstream stores: the 0.5 (LTE) diagnostic bitmasks (x_blocking_flags, x_dns_flags,
  // x_null_null_flags) stay in the measurement itself, not in scores (docs/compat.md).
  const scores = initScores();

  applyFingerprintMatches(scores, msm, matches);

  // title_match must be a boolean-ish or absent (1 == True in Python).
  const tm = get(tk, "title_match");
  if (!(tm === null || pyEq(tm, true) || pyEq(tm, false))) {
    scores.accuracy = 0.0;
    return scores;
  }

  const blocking = get(tk, "blocking");
  if (typeof blocking === "string" && BLOCKING_TYPES.has(blocking)) {
    scores.blocking_general = 1.0;
    analysis(scores).blocking_type = blocking;
  } else if (pyEq(blocking, false)) {
    // not blocked
  } else if (blocking === null) {
    // Somewhat-broken measurement (ooni/backend#610): good only if a fingerprint matched.
    if (matches.length === 0) scores.accuracy = 0.0;
  } else {
    analysis(scores).msg = "Unsupported blocking type";
    scores.accuracy = 0.0;
  }

  const unknown = detectUnknownFailure(tk);
  if (unknown === null) return null;
  if (unknown) scores.accuracy = 0.0;

  scores.blocking_general =
    (scores.blocking_general as number) +
    ((scores.blocking_country as number) +
      (scores.blocking_global as number) +
      (scores.blocking_isp as number) +
      (scores.blocking_local as number));

  if (has(tk, "accessible") && tk.accessible === null && matches.length === 0) {
    scores.accuracy = 0.0;
  }
  return scores;
}

export function scoreWebConnectivity({ msm, tk, fingerprints }: ScorerInput): Scores {
  const matches = matchWebConnectivity(tk, fingerprints);
  if (matches === "malformed") return failedScores();
  if (matches === "base64") {
    // Undecodable base64: scored without matches and as failed.
    const scores = scoreWithMatches(msm, tk, []);
    if (!scores) return failedScores();
    scores.accuracy = 0.0;
    return scores;
  }
  return scoreWithMatches(msm, tk, matches) ?? failedScores();
}
