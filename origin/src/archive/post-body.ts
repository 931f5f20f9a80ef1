// The measurement inside a spool `.post` file, as the exact bytes the probe produced.
//
// A .post file is an envelope `{"format":"json", …, "content": <measurement>}` (docs/spool.md,
// intake/post-file.ts): the measurement object is stored byte for byte inside it. Parsing and
// re-serialising would change those bytes (key order, number formatting, escapes), so this module
// scans the envelope's top level and cuts out the span of the `content` value instead. Legacy
// collector files whose `content` is a JSON *string* yield that string's text.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class PostBodyError extends Error {
  override readonly name = "PostBodyError";
}

function isWs(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function skipWs(buf: Uint8Array, i: number): number {
  while (i < buf.length && isWs(buf[i])) i++;
  return i;
}

/** Index just past the closing quote of the string starting at `i` (which is a quote). */
function endOfString(buf: Uint8Array, i: number): number {
  for (let j = i + 1; j < buf.length; j++) {
    const b = buf[j];
    if (b === BACKSLASH) j++;
    else if (b === QUOTE) return j + 1;
  }
  throw new PostBodyError("unterminated string");
}

/** Index just past the JSON value starting at `i`. */
function endOfValue(buf: Uint8Array, i: number): number {
  const b = buf[i];
  if (b === QUOTE) return endOfString(buf, i);
  if (b === 0x7b || b === 0x5b) {
    let depth = 0;
    for (let j = i; j < buf.length; j++) {
      const c = buf[j];
      if (c === QUOTE) j = endOfString(buf, j) - 1;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new PostBodyError("unterminated object or array");
  }
  // number, true, false, null: up to the next delimiter
  let j = i;
  while (j < buf.length && !isWs(buf[j]) && buf[j] !== 0x2c && buf[j] !== 0x7d && buf[j] !== 0x5d) j++;
  if (j === i) throw new PostBodyError("value expected");
  return j;
}

export interface ContentSpan {
  start: number;
  end: number;
  kind: "object" | "string" | "other";
}

/**
 * Where the top-level `content` value sits. With duplicate keys the last one wins, as in
 * JSON.parse (and so in parsePostFile, which the fastpath uses). Assumes a well-formed file (the
 * intake stored only parsed JSON); malformed input throws PostBodyError rather than guessing.
 */
export function contentSpan(buf: Uint8Array): ContentSpan | null {
  // A UTF-8 byte order mark is accepted by the intake's decoder, so it may lead a stored file.
  const bom = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let i = skipWs(buf, bom);
  if (buf[i] !== 0x7b) throw new PostBodyError("not a JSON object");
  i = skipWs(buf, i + 1);
  let found: ContentSpan | null = null;
  if (buf[i] === 0x7d) return null;
  for (;;) {
    if (buf[i] !== QUOTE) throw new PostBodyError("key expected");
    const keyEnd = endOfString(buf, i);
    const keyBytes = buf.subarray(i, keyEnd);
    // Keys may contain escapes ("cont\u0065nt"); decode them the way JSON.parse does.
    const key = keyBytes.includes(BACKSLASH)
      ? (JSON.parse(Buffer.from(keyBytes).toString("utf8")) as string)
      : Buffer.from(keyBytes.subarray(1, -1)).toString("utf8");
    i = skipWs(buf, keyEnd);
    if (buf[i] !== 0x3a) throw new PostBodyError("':' expected");
    const start = skipWs(buf, i + 1);
    const end = endOfValue(buf, start);
    if (key === "content") {
      const first = buf[start];
      found = { start, end, kind: first === 0x7b ? "object" : first === QUOTE ? "string" : "other" };
    }
    i = skipWs(buf, end);
    if (buf[i] === 0x2c) {
      i = skipWs(buf, i + 1);
      continue;
    }
    if (buf[i] === 0x7d) return found;
    throw new PostBodyError("',' or '}' expected");
  }
}

/** The measurement bytes of a .post file (see the module comment). Throws PostBodyError. */
export function measurementBytes(post: Uint8Array): Buffer {
  const span = contentSpan(post);
  if (!span) throw new PostBodyError("no content");
  const raw = Buffer.from(post.buffer, post.byteOffset + span.start, span.end - span.start);
  if (span.kind === "object") return raw;
  if (span.kind === "string") {
    const text = JSON.parse(raw.toString("utf8")) as string;
    return Buffer.from(text, "utf8");
  }
  throw new PostBodyError("content is neither an object nor a string");
}
