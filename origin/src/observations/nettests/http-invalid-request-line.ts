import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { binaryText } from "../web-observations";
import { nettestContext, type TransformOptions } from "./context";
import { middleboxOnly, middleboxRow } from "./middlebox";

// http_invalid_request_line → obs_http_middlebox: the test sends five malformed request lines to an
// echo server; a line that came back changed (a middlebox rewrote it) is stored, sent and received,
// in the column of the probe it belongs to (hirl_sent_N / hirl_received_N).

/** A list index past the end: upstream reads that as "the echo is missing". */
class MissingIndex extends Error {}

function at<T>(list: readonly T[], i: number): T {
  if (i >= list.length) throw new MissingIndex();
  return list[i]!;
}

/**
 * Which of the five request lines this is, by its shape:
 * 0 random 4-letter method, 1 four random fields, 2 1024-character method,
 * 3 random HTTP version, 4 squid cache manager URL.
 */
export function requestLineIndex(sent: string): number {
  const p = sent.split(" ");
  const first = [...p[0]!].length;
  if (first === 4) return 0;
  if (p.length === 4) return 1;
  if (first === 1024) return 2;
  if (p[0] === "GET" && at(p, 1) === "/" && at(p, 2).trim() !== "HTTP/1.1") return 3;
  if (sent.includes("cache_object://localhost/")) return 4;
  throw new Error(`unable to guess the request line's index: ${sent.slice(0, 80)}`);
}

const same = (a: unknown, b: unknown) => a === b || (typeof a === "object" && typeof b === "object" && JSON.stringify(a) === JSON.stringify(b));

export function httpInvalidRequestLineObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const row = middleboxRow(ctx);
  const fail = (why: string) => {
    row.hirl_failure = why;
    row.hirl_success = 0;
    return middleboxOnly(ctx, row);
  };
  row.hirl_success = 1;
  const sent = arr(ctx.tk.sent);
  const received = arr(ctx.tk.received);
  if (!sent || sent.length === 0) return fail("missing_sent");
  if (!received || received.length === 0) return fail("missing_received");
  const cols = row as unknown as Record<string, string | null>;
  for (let i = 0; i < 5; i++) {
    try {
      const s = at(sent, i);
      const r = at(received, i);
      if (same(s, r)) continue;
      if (typeof s !== "string") throw new Error(`sent[${i}] is not a string`);
      const idx = requestLineIndex(s);
      const receivedText = binaryText(r);
      if (receivedText === null) throw new Error(`received[${i}] is not data`);
      cols[`hirl_received_${idx}`] = receivedText;
      cols[`hirl_sent_${idx}`] = s;
    } catch (err) {
      if (err instanceof MissingIndex) return fail(`missing_received_${i}`);
      throw err;
    }
  }
  return middleboxOnly(ctx, row);
}
