import type { ScorerInput, Scores } from "./common";

// ndt: a speed test, not scored (upstream returns an empty scores object).
export function scoreNdt(_input: ScorerInput): Scores {
  return {};
}
