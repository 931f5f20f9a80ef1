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
  let j = i + 1;
  for (;;) {
    // Native search for the next quote, then check it is not escaped (odd run of backslashes).
    const q = buf.indexOf(QUOTE, j);
    if (q < 0) throw new PostBodyError("unterminated string");
    let k = q - 1;
    while (k > i && buf[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
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

function text(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("utf8");
}

export interface ContentSpan {
  start: number;
  end: number;
  kind: "object" | "string" | "other";
  /** The content value parsed, when the fast path already had to parse it. */
  parsed?: unknown;
  /** The envelope's own top-level report_id, when it has one (a string). */
  envelopeReportId: string | null;
}

/**
 * Where the top-level `content` value sits. With duplicate keys the last one wins, as in
 * JSON.parse (and so in parsePostFile, which the fastpath uses). Assumes a well-formed file (the
 * intake stored only parsed JSON); malformed input throws PostBodyError rather than guessing.
 *
 * Fast path: `content` is nearly always the last member, so the candidate "from here to the
 * envelope's closing brace" is tried with JSON.parse first (native speed; a complete value
 * followed by `, "key": …` can never parse, so success proves the span). Otherwise the value is
 * scanned byte by byte.
 */
export function contentSpan(buf: Uint8Array): ContentSpan | null {
  // A UTF-8 byte order mark is accepted by the intake's decoder, so it may lead a stored file.
  const bom = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let i = skipWs(buf, bom);
  if (buf[i] !== 0x7b) throw new PostBodyError("not a JSON object");
  let close = buf.length - 1;
  while (close > i && isWs(buf[close])) close--;
  if (buf[close] !== 0x7d) throw new PostBodyError("not a JSON object");
  i = skipWs(buf, i + 1);
  let found: ContentSpan | null = null;
  let envelopeReportId: string | null = null;
  if (buf[i] === 0x7d) return null;
  for (;;) {
    if (buf[i] !== QUOTE) throw new PostBodyError("key expected");
    const keyEnd = endOfString(buf, i);
    // Keys may contain escapes ("cont\u0065nt"); decode them the way JSON.parse does.
    const key = buf.subarray(i, keyEnd).includes(BACKSLASH) ? (JSON.parse(text(buf, i, keyEnd)) as string) : text(buf, i + 1, keyEnd - 1);
    i = skipWs(buf, keyEnd);
    if (buf[i] !== 0x3a) throw new PostBodyError("':' expected");
    const start = skipWs(buf, i + 1);
    const first = buf[start];
    const kind = first === 0x7b ? "object" : first === QUOTE ? "string" : "other";
    if (key === "content" && kind !== "other") {
      let end = close;
      while (end > start && isWs(buf[end - 1])) end--;
      let parsed: unknown;
      let last = false;
      try {
        parsed = JSON.parse(text(buf, start, end));
        last = true;
      } catch {
        // not the last member, or not valid JSON: scan below
      }
      if (last) return { start, end, kind, parsed, envelopeReportId };
    }
    const end = endOfValue(buf, start);
    if (key === "content") found = { start, end, kind, envelopeReportId: null };
    if (key === "report_id") {
      const v: unknown = first === QUOTE ? JSON.parse(text(buf, start, end)) : null;
      envelopeReportId = typeof v === "string" ? v : null;
    }
    i = skipWs(buf, end);
    if (buf[i] === 0x2c) {
      i = skipWs(buf, i + 1);
      continue;
    }
    if (buf[i] === 0x7d) return found ? { ...found, envelopeReportId } : null;
    throw new PostBodyError("',' or '}' expected");
  }
}

export interface PostMeasurement {
  /** The measurement's bytes, exactly as submitted. */
  bytes: Buffer;
  /** The measurement parsed (an object). */
  measurement: Record<string, unknown>;
  /** content.report_id when a non-empty string, else the envelope's (the rule of parsePostFile). */
  reportId: string | null;
}

/** The measurement bytes of a .post file (see the module comment). Throws PostBodyError. */
export function measurementBytes(post: Uint8Array): Buffer {
  return splitPost(post, false).bytes;
}

/**
 * The measurement of a .post file: its exact bytes, parsed, and its report id — what parsePostFile
 * gives, plus the bytes, with a single JSON.parse of the measurement in the common case.
 */
export function readPost(post: Uint8Array): PostMeasurement {
  const { bytes, parsed, span } = splitPost(post, true);
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new PostBodyError("content is not a JSON object");
  const measurement = parsed as Record<string, unknown>;
  const inner = measurement.report_id;
  const reportId = typeof inner === "string" && inner !== "" ? inner : span.envelopeReportId;
  return { bytes, measurement, reportId };
}

function splitPost(post: Uint8Array, parse: boolean): { bytes: Buffer; parsed: unknown; span: ContentSpan } {
  const span = contentSpan(post);
  if (!span) throw new PostBodyError("no content");
  const raw = Buffer.from(post.buffer, post.byteOffset + span.start, span.end - span.start);
  if (span.kind === "object") {
    let parsed = span.parsed;
    if (parse && parsed === undefined) {
      try {
        parsed = JSON.parse(raw.toString("utf8"));
      } catch (err) {
        throw new PostBodyError(`content is not valid JSON: ${(err as Error).message}`);
      }
    }
    return { bytes: raw, parsed, span };
  }
  if (span.kind === "string") {
    const inner = (span.parsed ?? JSON.parse(raw.toString("utf8"))) as string;
    let parsed: unknown;
    if (parse) {
      try {
        parsed = JSON.parse(inner);
      } catch (err) {
        throw new PostBodyError(`content is not a JSON measurement: ${(err as Error).message}`);
      }
    }
    return { bytes: Buffer.from(inner, "utf8"), parsed, span };
  }
  throw new PostBodyError("content is neither an object nor a string");
}
