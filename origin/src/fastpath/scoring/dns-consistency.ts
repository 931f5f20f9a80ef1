import { initScores } from "./common";
import type { ScorerInput, Scores } from "./common";

// dns_consistency (legacy): never scored beyond the zero defaults.
export function scoreDnsConsistency(_input: ScorerInput): Scores {
  return initScores();
}
