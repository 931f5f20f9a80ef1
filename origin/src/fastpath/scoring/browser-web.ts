import { initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { getOr } from "./py";

// browser_web: the page load in a real browser, "ok" or "error".
export function scoreBrowserWeb({ tk }: ScorerInput): Scores {
  const scores = initScores();
  const result = getOr(tk, "result", "");
  if (result === "ok") {
    // reachable
  } else if (result === "error") {
    scores.blocking_general = 1.0;
  } else {
    scores.accuracy = 0.0;
  }
  scores.extra = {
    browser_name: getOr(tk, "browser_name", ""),
    load_time_ms: getOr(tk, "load_time_ms", 0),
  };
  return scores;
}
