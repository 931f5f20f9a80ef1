import type { ScorerInput, Scores } from "./common";

// riseupvpn: scoring disabled upstream since 2023-10 (ooni/backend#745): empty scores.
export function scoreRiseupvpn(_input: ScorerInput): Scores {
  return {};
}
