import { initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { own } from "./py";

// facebook_messenger: +0.5 for each consistency key that is false and each blocking key that is
// true, unless the known false positive (all fine but facebook_dns_blocking: true) is seen.

const CONSISTENCY_KEYS = [
  "facebook_b_api_dns_consistent",
  "facebook_b_api_reachable",
  "facebook_b_graph_dns_consistent",
  "facebook_b_graph_reachable",
  "facebook_edge_dns_consistent",
  "facebook_edge_reachable",
  "facebook_external_cdn_dns_consistent",
  "facebook_external_cdn_reachable",
  "facebook_scontent_cdn_dns_consistent",
  "facebook_scontent_cdn_reachable",
  "facebook_star_dns_consistent",
  "facebook_star_reachable",
  "facebook_stun_dns_consistent",
] as const;

const ANOMALY_KEYS = ["facebook_tcp_blocking", "facebook_dns_blocking"] as const;

// With all of these true and facebook_tcp_blocking false, the probe's facebook_dns_blocking is
// a known false positive.
const FALSE_POSITIVE_TRUES = [
  "facebook_b_api_dns_consistent",
  "facebook_b_api_reachable",
  "facebook_b_graph_dns_consistent",
  "facebook_b_graph_reachable",
  "facebook_dns_blocking",
  "facebook_edge_dns_consistent",
  "facebook_edge_reachable",
  "facebook_star_dns_consistent",
  "facebook_star_reachable",
  "facebook_stun_dns_consistent",
] as const;

export function scoreFacebookMessenger({ tk }: ScorerInput): Scores {
  const scores = initScores();
  let score = 0.0;
  const falsePositive =
    FALSE_POSITIVE_TRUES.every((k) => own(tk, k) === true) && own(tk, "facebook_tcp_blocking") === false;
  if (!falsePositive) {
    for (const key of CONSISTENCY_KEYS) {
      if (own(tk, key) === false) {
        score += 0.5;
        scores[key] = false;
      }
    }
    for (const key of ANOMALY_KEYS) {
      if (own(tk, key) === true) {
        score += 0.5;
        scores[key] = true;
      }
    }
  }
  scores.blocking_general = score;
  return scores;
}
