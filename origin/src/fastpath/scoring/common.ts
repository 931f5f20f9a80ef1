import type { FingerprintSet } from "../fingerprints";
import type { Dict } from "./py";

/** The scores object stored (as JSON) in fastpath.scores; key order follows upstream. */
export type Scores = Record<string, unknown>;

/** What every per-test scorer receives: test_keys is already known to be an object. */
export interface ScorerInput {
  readonly msm: Dict;
  readonly tk: Dict;
  readonly fingerprints: FingerprintSet;
}

export type Scorer = (input: ScorerInput) => Scores;

/** blocking_{general,global,country,isp,local} = 0.0, in upstream's order. */
export function initScores(): Scores {
  return {
    blocking_general: 0.0,
    blocking_global: 0.0,
    blocking_country: 0.0,
    blocking_isp: 0.0,
    blocking_local: 0.0,
  };
}

/** A measurement that cannot be scored: zero blocking, accuracy 0. */
export function failedScores(): Scores {
  const s = initScores();
  s.accuracy = 0.0;
  return s;
}

/** Upstream's test_runtime / bootstrap_time pass-through: a missing key is None (null). */
export function orNull(v: unknown): unknown {
  return v === undefined ? null : v;
}
