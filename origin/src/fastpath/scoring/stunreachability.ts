import { initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, truthy } from "./py";

// stunreachability: blocked when the STUN exchange failed.
export function scoreStunreachability({ tk }: ScorerInput): Scores {
  const scores = initScores();
  const extra: Record<string, unknown> = { endpoint: get(tk, "endpoint") };
  scores.extra = extra;
  const failure = get(tk, "failure");
  if (truthy(failure)) {
    scores.blocking_general = 1.0;
    extra.failure = failure;
  }
  return scores;
}
