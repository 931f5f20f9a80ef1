import { isConfirmed, miniFingerprint, scopeLocality } from "../fingerprints";
import type { Fingerprint } from "../fingerprints";
import type { Scores } from "./common";
import { getOr, truthy } from "./py";
import type { Dict } from "./py";

/** The probe's country as upstream reads it: upper-cased, "ZZ" when missing. */
export function probeCountry(msm: Dict): string {
  const cc = getOr(msm, "probe_cc", "ZZ");
  return typeof cc === "string" ? cc.toUpperCase() : "ZZ";
}

/**
 * Records matched fingerprints in the scores: the list (`fingerprints`), and for each confirmed
 * match blocking_<locality> = 1.0 and `confirmed: true`.
 */
export function applyFingerprintMatches(scores: Scores, msm: Dict, matches: readonly Fingerprint[]): void {
  if (matches.length > 0) scores.fingerprints = matches.map(miniFingerprint);
  const cc = probeCountry(msm);
  for (const fp of matches) {
    if (isConfirmed(cc, fp)) {
      scores[`blocking_${scopeLocality(fp.scope)}`] = 1.0;
      scores.confirmed = true;
    }
  }
}

/**
 * Whether any `*_failure` test key starts with "unknown_failure" (a broken measurement).
 * null where upstream would crash: a truthy non-string failure value met first.
 */
export function detectUnknownFailure(tk: Dict): boolean | null {
  for (const key of Object.keys(tk)) {
    if (!key.endsWith("_failure")) continue;
    const v = tk[key];
    if (!truthy(v)) continue;
    if (typeof v !== "string") return null;
    if (v.startsWith("unknown_failure")) return true;
  }
  return false;
}
