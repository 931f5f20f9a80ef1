import { initScores, orNull } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, own } from "./py";

// openvpn: blocked when the tunnel failed, failed when the probe did not say.
export function scoreOpenvpn({ msm, tk }: ScorerInput): Scores {
  const scores = initScores();
  const success = get(tk, "success");
  if (success === false) scores.blocking_general = 1.0;
  else if (success === null) scores.accuracy = 0.0;
  scores.extra = { test_runtime: orNull(own(msm, "test_runtime")) };
  return scores;
}
