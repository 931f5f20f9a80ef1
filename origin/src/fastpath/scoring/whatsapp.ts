import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { detectUnknownFailure } from "./fingerprint-scores";
import { has, isDict, own, pyEq, pyIter, truthy } from "./py";
import { countTcpEndpoints } from "./tcp-endpoints";

// whatsapp: blocked when WhatsApp Web or the registration server failed; otherwise OK when any
// endpoint was reachable, blocked when none was, failed when none was tried.

const WEB_URL = "https://web.whatsapp.com/";
const REGISTRATION_URL = "https://v.whatsapp.net/v2/register";

export function scoreWhatsapp({ tk }: ScorerInput): Scores {
  const scores = initScores();
  const unknown = detectUnknownFailure(tk);
  if (unknown === null) return failedScores();
  if (unknown) scores.accuracy = 0.0;

  const webFailure = has(tk, "whatsapp_web_failure") ? tk.whatsapp_web_failure : "";
  if (typeof webFailure === "string" && webFailure.includes("unknown_failure 'ascii' co")) {
    scores.accuracy = 0.0;
    return scores;
  }

  const raw = has(tk, "requests") ? tk.requests : [];
  if (!truthy(raw)) {
    scores.accuracy = 0.0;
    return scores;
  }
  const requests = pyIter(raw);
  if (!requests) return failedScores();

  let webAccessible: boolean | null = null;
  let registrationAccessible: boolean | null = null;
  for (const b of requests) {
    if (!isDict(b)) return failedScores();
    const request = has(b, "request") ? b.request : {};
    if (!isDict(request)) return failedScores();
    const url = has(request, "url") ? request.url : "";
    if (pyEq(url, WEB_URL)) {
      const failure = has(b, "failure") ? b.failure : true;
      webAccessible = failure === null || failure === "" || pyEq(failure, false);
    } else if (pyEq(url, REGISTRATION_URL)) {
      registrationAccessible = own(b, "failure") === undefined || own(b, "failure") === null;
    }
  }

  if (webAccessible === null || registrationAccessible === null) {
    scores.accuracy = 0.0;
    return scores;
  }
  if (!webAccessible || !registrationAccessible) {
    scores.blocking_general = 1.0;
    return scores;
  }

  const tcp = countTcpEndpoints(tk);
  if (!tcp) return failedScores();
  if (tcp.accessible === 0 && tcp.unreachable === 0) scores.accuracy = 0.0;
  else if (tcp.accessible === 0) scores.blocking_general = 1.0;

  scores.analysis = {
    registration_server_accessible: registrationAccessible,
    whatsapp_web_accessible: webAccessible,
    whatsapp_endpoints_accessible: tcp.accessible > 0,
  };
  return scores;
}
