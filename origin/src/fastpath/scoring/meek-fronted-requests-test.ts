import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { has, hashable, isDict, pyEq, pyFirst, pyIter, pyLen, truthy } from "./py";

// meek_fronted_requests_test: any request without an HTTP 200 means blocking; a response not
// served by the expected CDN ("Server: ECAcc ...") adds 0.5.

/** headers["Server"] where headers is an object or a list of [name, [value, ...]]; undefined if Python would crash. */
function serverHeader(headers: unknown): { value: unknown } | undefined {
  if (isDict(headers)) return { value: has(headers, "Server") ? headers.Server : "" };
  if (!Array.isArray(headers)) return undefined;
  let value: unknown = "";
  for (const item of headers) {
    if (!truthy(item)) continue;
    const name = pyFirst(item);
    if (!name || !hashable(name.value)) return undefined;
    const values = Array.isArray(item) ? item[1] : typeof item === "string" ? Array.from(item)[1] : undefined;
    if (values === undefined) return undefined;
    const first = pyFirst(values);
    if (!first) return undefined;
    if (name.value === "Server") value = first.value;
  }
  return { value };
}

export function scoreMeekFrontedRequestsTest({ tk }: ScorerInput): Scores {
  const scores = initScores();
  const raw = has(tk, "requests") ? tk.requests : [];
  const requests = truthy(raw) ? raw : [];
  const len = pyLen(requests);
  if (len === null) return failedScores();
  if (len === 0) {
    // Usually "success" is missing too.
    scores.blocking_general = 1.0;
    scores.accuracy = 0;
    return scores;
  }
  for (const r of pyIter(requests)!) {
    if (!isDict(r)) return failedScores();
    const resp = has(r, "response") ? r.response : {};
    if (resp === null) {
      scores.blocking_general = 1.0;
      return scores;
    }
    if (!isDict(resp)) return failedScores();
    const code = has(resp, "code") ? resp.code : 0;
    if (!pyEq(code, 200)) {
      scores.blocking_general = 1.0;
      return scores;
    }
    const server = serverHeader(has(resp, "headers") ? resp.headers : {});
    if (!server || typeof server.value !== "string") return failedScores();
    if (!server.value.startsWith("ECAcc ")) {
      scores.blocking_general = (scores.blocking_general as number) + 0.5;
    }
  }
  return scores;
}
