import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { has, pyEq, pyIter, pyLen } from "./py";

// http_invalid_request_line: the helper echoes what it received; any line that differs from
// what was sent means a middlebox rewrote it. The probe's own `tampering` flag is ignored
// (ooni/probe#1278).

export function scoreHttpInvalidRequestLine({ tk }: ScorerInput): Scores {
  const sent = has(tk, "sent") ? tk.sent : [];
  const received = has(tk, "received") ? tk.received : [];
  const sentLen = pyLen(sent);
  const receivedLen = pyLen(received);
  if (sentLen === null || receivedLen === null) return failedScores();
  if (sentLen === 0 && receivedLen === 0) return failedScores();

  const s = pyIter(sent)!;
  const r = pyIter(received)!;
  const scores = initScores();
  const n = Math.min(s.length, r.length);
  for (let i = 0; i < n; i++) {
    if (!pyEq(s[i], r[i])) {
      scores.blocking_general = 1.0;
      break;
    }
  }
  return scores;
}
