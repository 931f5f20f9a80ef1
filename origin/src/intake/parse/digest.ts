// The part of a submission the intake needs, taken out of its JSON: the envelope's fields, the
// measurement text when `content` is a string, and the measurement's top-level metadata fields —
// never the measurement object itself. For large bodies this runs on a parse thread (pool.ts), so
// the objects JSON.parse builds (a 46 KB gzip body can decode to millions of empty arrays) live and
// die there, and only this small digest crosses back to the event loop. Plain data only: it is
// posted between threads.

export const METADATA_FIELDS = ["probe_asn", "probe_cc", "test_name", "software_name", "software_version", "report_id", "test_start_time"] as const;

export type ContentKind = "object" | "string" | "missing" | "other";

export interface Digest {
  format: unknown;
  /** The envelope's report_id (undefined when absent). */
  reportId: unknown;
  contentKind: ContentKind;
  /** `content` when it is a string (the measurement as JSON text), else null. */
  text: string | null;
  /** The measurement's metadata fields when it is an object, else null (not an object). */
  fields: Record<string, unknown> | null;
  /**
   * The envelope's anonymous-credential fields (nym, zkp_request, manifest_version,
   * protocol_version) that are present. Primitives as sent; an object or array as `{}` (the
   * verifier only needs to see that it is malformed, and it must not carry a large subtree back
   * from the parse thread).
   */
  credentials: Record<string, unknown>;
}

export const CREDENTIAL_FIELDS = ["nym", "zkp_request", "manifest_version", "protocol_version"] as const;

function credentialsOf(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CREDENTIAL_FIELDS) {
    if (!Object.hasOwn(body, k)) continue;
    const v = body[k];
    out[k] = v !== null && typeof v === "object" ? {} : v;
  }
  return out;
}

/**
 * A refusal found while digesting: an IntakeError 400 "Incorrect format" with this message, or a
 * 413 when the JSON would cost too much to build (`tooCostly`).
 */
export interface DigestRefusal {
  refused: string;
  tooCostly?: true;
}

/**
 * The most JSON values (objects, arrays, strings, numbers, literals) one submission may hold. What
 * JSON.parse costs is about the number of values, not the bytes: `[],` is 3 bytes and one array
 * (~50 bytes of heap), so 48 MB of it is 16 million arrays and over a gigabyte. Real measurements
 * are mostly long strings (bodies, certificates): the most any corpus measurement holds is 4,355
 * values (whatsapp.json; the largest file, 571 KB, fewer). 2 million — 460 times that — bounds a
 * parse to a couple of hundred MB whatever the bytes.
 */
export const MAX_JSON_VALUES = 2_000_000;

/**
 * Counts the JSON values in `text` without building them (one pass, strings skipped), stopping
 * once past `limit`. An approximation that never undercounts a valid document's values: every
 * value but the first is preceded by a "," or a "[" / ":" — counting commas, colons and openers
 * is enough.
 */
export function jsonValuesExceed(text: string, limit = MAX_JSON_VALUES): boolean {
  let n = 1;
  // Inside a string only the closing quote matters: jump to it with indexOf (native) rather than
  // walking every character — a string `content` is one string of up to 50 MB. The next backslash
  // is looked up once and reused until passed, so the jumps stay linear overall.
  let nextBackslash = -2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (;;) {
        const quote = text.indexOf('"', i + 1);
        if (quote < 0) return false; // unterminated: JSON.parse refuses it
        if (nextBackslash !== -1 && nextBackslash < i + 1) nextBackslash = text.indexOf("\\", i + 1);
        if (nextBackslash !== -1 && nextBackslash < quote) {
          i = nextBackslash + 1; // skip the escaped character, keep looking
          continue;
        }
        i = quote;
        break;
      }
    } else if (c === 0x2c || c === 0x5b || c === 0x7b || c === 0x3a) {
      if (++n > limit) return true;
    }
  }
  return false;
}

/**
 * jsonValuesExceed over bytes arriving in pieces (a body being decompressed): the same count, kept
 * across chunk boundaries. UTF-8 never puts a byte below 0x80 inside a multi-byte character, so the
 * ASCII structure can be followed byte by byte.
 */
export class JsonValueCounter {
  private n = 1;
  private inString = false;
  private escaped = false;

  constructor(private readonly limit = MAX_JSON_VALUES) {}

  /** True once the bytes so far hold more than the limit. */
  feed(bytes: Uint8Array): boolean {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // As in jsonValuesExceed: inside a string, jump to the next quote or backslash (memchr) instead
    // of visiting every byte on the event loop; each is looked up again only once passed.
    let nextQuote = -2;
    let nextBackslash = -2;
    for (let i = 0; i < buf.length; i++) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        if (nextQuote !== -1 && nextQuote < i) nextQuote = buf.indexOf(0x22, i);
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = buf.indexOf(0x5c, i);
        const stop = Math.min(nextQuote < 0 ? Infinity : nextQuote, nextBackslash < 0 ? Infinity : nextBackslash);
        if (stop === Infinity) return false; // the string goes on into the next chunk
        i = stop;
        if (buf[i] === 0x5c) this.escaped = true;
        else this.inString = false;
        continue;
      }
      const c = buf[i]!;
      if (c === 0x22) this.inString = true;
      else if (c === 0x2c || c === 0x5b || c === 0x7b || c === 0x3a) {
        if (++this.n > this.limit) return true;
      }
    }
    return false;
  }
}

const tooCostly = (where: string): DigestRefusal => ({
  refused: `${where} holds more than ${MAX_JSON_VALUES} JSON values`,
  tooCostly: true,
});

const utf8 = new TextDecoder("utf-8", { fatal: true });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function pick(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of METADATA_FIELDS) if (Object.hasOwn(m, k)) out[k] = m[k];
  return out;
}

export function digestSubmission(bytes: Uint8Array): Digest | DigestRefusal {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { refused: "request body is not valid UTF-8" };
  }
  if (jsonValuesExceed(text)) return tooCostly("request body");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { refused: "request body is not valid JSON" };
  }
  if (!isObject(body)) return { refused: "body: missing or of the wrong type" };
  const content = Object.hasOwn(body, "content") ? body.content : undefined;
  const base = { format: body.format, reportId: body.report_id, credentials: credentialsOf(body) };
  if (typeof content === "string") {
    if (jsonValuesExceed(content)) return tooCostly("content");
    let measurement: unknown;
    try {
      measurement = JSON.parse(content);
    } catch {
      return { refused: "content is a string but not a JSON measurement" };
    }
    return { ...base, contentKind: "string", text: content, fields: isObject(measurement) ? pick(measurement) : null };
  }
  if (isObject(content)) return { ...base, contentKind: "object", text: null, fields: pick(content) };
  return { ...base, contentKind: content === undefined ? "missing" : "other", text: null, fields: null };
}
