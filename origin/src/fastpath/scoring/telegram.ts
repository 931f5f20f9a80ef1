import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, getOr, has, isDict, pyIter, pyStr } from "./py";
import { countTcpEndpoints } from "./tcp-endpoints";

// telegram: share of unreachable TCP endpoints + share of failed HTTP requests (0.5 each when
// there is no data) + 1 when Telegram Web is reported blocked.

const WEB_URLS = new Set(["https://web.telegram.org/", "http://web.telegram.org/"]);

export function scoreTelegram({ tk }: ScorerInput): Scores {
  const webStatus = get(tk, "telegram_web_status");
  const webBlocked = webStatus === "blocked";

  const tcp = countTcpEndpoints(tk);
  if (!tcp) return failedScores();

  let httpSuccess = 0;
  let httpFailure = 0;
  let webFailure: unknown = null;
  const requests = pyIter(getOr(tk, "requests", []));
  if (!requests) return failedScores();
  for (const request of requests) {
    // A request without request.url is a known client bug: failed.
    if (!isDict(request)) return failedScores();
    const inner = get(request, "request");
    if (!isDict(inner) || !has(inner, "url") || !has(request, "failure")) return failedScores();
    const url = inner.url;
    const failure = request.failure;
    if (typeof url === "string" && WEB_URLS.has(url)) {
      if (failure !== null) webFailure = failure;
      continue; // Telegram Web requests do not count as HTTP endpoints
    }
    if (failure === null) httpSuccess++;
    else httpFailure++;
  }

  const tcpTotal = tcp.accessible + tcp.unreachable;
  let s = tcpTotal > 0 ? tcp.unreachable / tcpTotal : 0.5;
  const httpTotal = httpFailure + httpSuccess;
  s += httpTotal > 0 ? httpFailure / httpTotal : 0.5;
  if (webBlocked) s += 1;

  const scores = initScores();
  scores.blocking_general = s;
  scores.web_failure = webFailure;
  scores.accessible_endpoints = tcp.accessible;
  scores.unreachable_endpoints = tcp.unreachable;
  scores.http_success_cnt = httpSuccess;
  scores.http_failure_cnt = httpFailure;
  if (webFailure !== null) scores.msg = `failure: ${pyStr(webFailure)}`;
  return scores;
}
