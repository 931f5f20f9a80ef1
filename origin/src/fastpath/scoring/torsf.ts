import { failedScores, initScores, orNull } from "./common";
import type { ScorerInput, Scores } from "./common";
import { has, own, truthy } from "./py";

// torsf (Tor over Snowflake): blocked on failure. ooniprobe-android 3.8.3 produced broken
// measurements: failed.

export function scoreTorsf({ msm, tk }: ScorerInput): Scores {
  const scores = initScores();
  const name = has(msm, "software_name") ? msm.software_name : "unknown";
  const version = has(msm, "software_version") ? msm.software_version : "unknown";
  if (version === "3.8.3") {
    if (typeof name !== "string") return failedScores();
    if (name.startsWith("ooniprobe-android")) {
      scores.accuracy = 0.0;
      return scores;
    }
  }
  if (truthy(own(tk, "failure"))) {
    scores.blocking_general = 1.0;
    return scores;
  }
  scores.extra = {
    bootstrap_time: orNull(own(tk, "bootstrap_time")),
    test_runtime: orNull(own(msm, "test_runtime")),
  };
  return scores;
}
