import { failedScores, initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { get, getOr, has, hashable, hashKey, isDict, own, pyFirst } from "./py";

// http_header_field_manipulation: the helper echoes the headers it received; any difference
// from the headers sent (ignoring "Connection: close") is manipulation (1.1). No body at all
// is total tampering (1.0).

function pairKey(name: string, value: unknown): string {
  return `${name}\u0000${hashKey(value)}`;
}

const CONNECTION_CLOSE = pairKey("Connection", "close");

export function scoreHttpHeaderFieldManipulation({ tk }: ScorerInput): Scores {
  const requests = own(tk, "requests");
  // requests missing, null, empty or not a list of objects: failed.
  if (!Array.isArray(requests) || requests.length === 0 || !isDict(requests[0])) return failedScores();
  const first = requests[0];
  const resp = has(first, "response") ? first.response : {};
  if (resp === null) return failedScores();
  if (!isDict(resp)) return failedScores();

  const scores = initScores();
  const body = get(resp, "body");
  if (body === null) {
    scores.total_tampering = true;
    scores.blocking_general = 1.0;
    scores.msg = "Empty body";
    return scores;
  }

  let ctrlHeaders: unknown;
  try {
    if (typeof body !== "string") throw new TypeError("body is not a JSON document");
    const doc: unknown = JSON.parse(body);
    if (!isDict(doc) || !has(doc, "headers_dict")) throw new TypeError("no headers_dict");
    ctrlHeaders = doc.headers_dict;
  } catch {
    scores.blocking_general = 1.0;
    scores.msg = "Malformed ctrl_headers";
    return scores;
  }

  // Sets of (name, first value) echoed by the helper, and of (name, value) sent.
  if (!isDict(ctrlHeaders)) return failedScores();
  const ctrl = new Set<string>();
  for (const [name, values] of Object.entries(ctrlHeaders)) {
    const v = pyFirst(values);
    if (!v || !hashable(v.value)) return failedScores();
    ctrl.add(pairKey(name, v.value));
  }
  const request = has(first, "request") ? first.request : {};
  if (!isDict(request)) return failedScores();
  const sent = getOr(request, "headers", {});
  if (has(request, "headers") && request.headers === null) return failedScores();
  if (!isDict(sent)) return failedScores();
  const expected = new Set<string>();
  for (const [name, value] of Object.entries(sent)) {
    if (!hashable(value)) return failedScores();
    expected.add(pairKey(name, value));
  }

  ctrl.delete(CONNECTION_CLOSE);
  expected.delete(CONNECTION_CLOSE);

  let diff = 0;
  for (const k of expected) if (!ctrl.has(k)) diff++;
  for (const k of ctrl) if (!expected.has(k)) diff++;
  if (diff === 0) return scores;

  scores.blocking_general = 1.1;
  scores.msg = `${diff} unexpected header change`;
  return scores;
}
