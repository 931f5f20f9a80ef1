import type { Fingerprint } from "../fingerprints";
import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { matchResponse } from "./fingerprint-matches";
import { applyFingerprintMatches } from "./fingerprint-scores";
import { get, getOr, isDict, pyIter, truthy } from "./py";

// http_requests (legacy): blocked when the body length or headers differ from the request over
// Tor; fingerprints are matched on the non-Tor responses.

export function scoreHttpRequests({ msm, tk, fingerprints }: ScorerInput): Scores {
  const scores = initScores();
  const bodyLengthMatch = get(tk, "body_length_match");
  const headersMatch = get(tk, "headers_match");
  // Upstream reads these two at the top level of the measurement, where they never are.
  const failed = truthy(get(msm, "control_failure")) || truthy(get(msm, "experiment_failure"));
  if (failed || bodyLengthMatch === null || headersMatch === null) {
    scores.accuracy = 0.0;
    return scores;
  }
  if (!(truthy(bodyLengthMatch) && truthy(headersMatch))) scores.blocking_general = 1.0;

  const requests = pyIter(getOr(tk, "requests", []));
  if (!requests) return failedScores();
  const matches: Fingerprint[] = [];
  for (const req of requests) {
    if (!isDict(req)) return failedScores();
    const request = getOr(req, "request", {});
    if (!isDict(request)) return failedScores();
    const tor = getOr(request, "tor", {});
    if (!isDict(tor)) return failedScores();
    if (truthy(get(tor, "is_tor"))) continue; // the control request over Tor
    const resp = getOr(req, "response", {});
    if (!isDict(resp)) return failedScores();
    if (matchResponse(resp, fingerprints, matches)) return failedScores();
  }
  applyFingerprintMatches(scores, msm, matches);
  return scores;
}
