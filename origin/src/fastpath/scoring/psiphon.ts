import { initScores, orNull } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, has, own, pyEq } from "./py";

// psiphon: blocked when bootstrapping or using Psiphon failed.

export function scorePsiphon({ msm, tk }: ScorerInput): Scores {
  const scores = initScores();
  const failure = get(tk, "failure");
  const bootstrapTime = has(tk, "bootstrap_time") ? tk.bootstrap_time : 0;
  if (failure === null) {
    // Success without a bootstrap time should not happen.
    scores.accuracy = pyEq(bootstrapTime, 0) ? 0.0 : 1.0;
  } else {
    scores.accuracy = 1.0;
    scores.blocking_general = 1.0;
  }
  if (!has(msm, "resolver_ip")) scores.accuracy = 0.0;
  scores.extra = { test_runtime: orNull(own(msm, "test_runtime")), bootstrap_time: bootstrapTime };
  return scores;
}
