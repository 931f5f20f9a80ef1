import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, has, pyFloat, pyIn, truthy } from "./py";

// vanilla_tor: fine when Tor bootstrapped to 100%, else 1 − progress × 0.004 (a slow or
// throttled network that reached 80% scores 0.68).

const DONE = ["Bootstrapped 100%: Done", "Bootstrapped 100% (done): Done"] as const;

export function scoreVanillaTor({ tk }: ScorerInput): Scores {
  const scores = initScores();
  const logs = get(tk, "tor_logs");
  const torLogs = truthy(logs) ? logs : get(tk, "tor_log");
  if (torLogs === null) return failedScores();

  for (const line of DONE) {
    const found = pyIn(line, torLogs);
    if (found === null) return failedScores();
    if (found) return scores;
  }

  const raw = has(tk, "tor_progress") ? tk.tor_progress : 0;
  let progress = pyFloat(raw);
  if (progress === null) return failedScores();
  // max(0, p) then min(100, p) as Python evaluates them (NaN ends up 0).
  progress = progress > 0 ? progress : 0;
  progress = progress < 100 ? progress : 100;
  if (progress === 100) return scores;

  scores.blocking_general = 1.0 - progress * 0.004;
  return scores;
}
