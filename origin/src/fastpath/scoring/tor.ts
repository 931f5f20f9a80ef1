import { failedScores, initScores, orNull } from "./common";
import type { ScorerInput, Scores } from "./common";
import { has, isDict, own, truthy } from "./py";

// tor: share of targets (bridges, directory authorities) that failed among those that ran.

export function scoreTor({ msm, tk }: ScorerInput): Scores {
  const targets = has(tk, "targets") ? tk.targets : {};
  // Missing, empty, or the list of early experiments: failed.
  if (!truthy(targets) || !isDict(targets)) return failedScores();

  let blocked = 0;
  let success = 0;
  for (const d of Object.values(targets)) {
    if (!isDict(d) || !has(d, "failure") || !has(d, "network_events")) return failedScores();
    const f = d.failure;
    if (f === false) continue; // did not run
    if (f === null) success++;
    else if (f === "") return failedScores();
    else blocked++;
  }

  const scores = initScores();
  if (blocked + success > 0) scores.blocking_general = blocked / (blocked + success);
  else scores.accuracy = 0.0;
  scores.extra = { test_runtime: orNull(own(msm, "test_runtime")) };
  return scores;
}
