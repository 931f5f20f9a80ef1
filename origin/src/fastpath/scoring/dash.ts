import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, pyIn, truthy } from "./py";

// dash: network failures score 0.1 (not evidence of blocking) and the measurement as failed;
// anything else unexpected is a probe error.

const NETWORK_FAILURES = new Set([
  "connection_aborted",
  "json_parse_error",
  "eof_error",
  "json_processing_error",
  "http_request_failed",
  "connect_error",
  "generic_timeout_error",
  "broken_pipe",
  "connection_refused",
]);

export function scoreDash({ tk }: ScorerInput): Scores {
  const scores = initScores();
  if (!truthy(tk)) {
    scores.accuracy = 0.0;
    return scores;
  }
  const failure = get(tk, "failure");
  if (failure === null) return scores;
  let network = typeof failure === "string" && NETWORK_FAILURES.has(failure);
  if (!network) {
    const ssl = pyIn("ssl_error", failure);
    if (ssl === null) return failedScores();
    network = ssl;
  }
  if (network) {
    scores.blocking_general = 0.1;
    scores.accuracy = 0.0;
  } else {
    scores.msg = "Probe error";
    scores.accuracy = 0.0;
  }
  return scores;
}
