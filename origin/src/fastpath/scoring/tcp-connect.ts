import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, own, truthy } from "./py";

// tcp_connect: known connection errors 0.8, anything else but success 1.0.

const KNOWN_ERRORS = new Set([
  "generic_timeout_error",
  "connection_refused_error",
  "connect_error",
  "tcp_timed_out_error",
]);

export function scoreTcpConnect({ msm, tk }: ScorerInput): Scores {
  // Upstream asserts an input (the host:port tried).
  if (!truthy(own(msm, "input"))) return failedScores();
  const scores = initScores();
  const result = get(tk, "connection");
  if (result === "success") return scores;
  scores.blocking_general = typeof result === "string" && KNOWN_ERRORS.has(result) ? 0.8 : 1.0;
  return scores;
}
