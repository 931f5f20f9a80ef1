import { isAscii } from "node:buffer";
import { z } from "zod";

// What a spool `.post` file holds (docs/spool.md): one JSON object, an envelope whose `content` is
// the measurement.
//
// - POST /report/{report_id}: the request body after content decoding, byte for byte. Only if
//   neither the measurement nor the envelope names its report, `"report_id":"…",` is inserted after
//   the envelope's opening brace (every other byte unchanged).
// - POST /api/v1/submit_measurement (the measurement arrives as a JSON *string*, without a report
//   id): `{"format":"json","report_id":"<generated>","content":` + that string, byte for byte + `}`;
//   when it carried an anonymous credential that was checked, `"is_verified":"t"` (or "f") comes
//   before "content" (docs/anonymous-credentials.md).
//
// So the measurement bytes are always exactly what the probe produced, and every file yields a
// report id with one rule: content.report_id, else the envelope's report_id.

const enc = new TextEncoder();

export function withReportIdInserted(body: Buffer, reportId: string): Buffer {
  const open = body.indexOf(0x7b); // "{": the body has been parsed as an object, so it exists
  const insert = enc.encode(`"report_id":${JSON.stringify(reportId)},`);
  return Buffer.concat([body.subarray(0, open + 1), insert, body.subarray(open + 1)]);
}

/** `isVerified` t or f (a credential was checked) is recorded as the envelope's is_verified; u is left out. */
export function envelopeAroundMeasurementText(measurementText: string, reportId: string, isVerified?: "t" | "f" | "u"): Buffer {
  const verified = isVerified === "t" || isVerified === "f" ? `"is_verified":"${isVerified}",` : "";
  return Buffer.concat([
    enc.encode(`{"format":"json","report_id":${JSON.stringify(reportId)},${verified}"content":`),
    enc.encode(measurementText),
    enc.encode("}"),
  ]);
}

/**
 * A JSON object (what JSON.parse returned, so every key is a string). Checked without walking its
 * keys: z.record would visit every key of every measurement, a tenth of the fastpath's time.
 */
const JsonObject = z.custom<Record<string, unknown>>((v) => v !== null && typeof v === "object" && !Array.isArray(v), {
  message: "expected an object",
});

const PostSchema = z.looseObject({
  format: z.string().optional(),
  report_id: z.string().optional(),
  content: z.union([JsonObject, z.string()]),
});

export interface PostContent {
  reportId: string | null;
  measurement: Record<string, unknown>;
  /** The envelope's is_verified (t/f), else "u": the fastpath row's column. */
  isVerified: "t" | "f" | "u";
}

/**
 * Reads a `.post` file the way every consumer (fastpath, uploader, raw_measurement) should. Also
 * accepts the legacy collector's files, where `content` may be the measurement as a string.
 * Throws on anything that is not such an envelope.
 */
// TextDecoder is about twice as fast as Buffer#toString on large bodies (Node 20); same U+FFFD
// replacement of invalid UTF-8, and ignoreBOM keeps a leading BOM as Buffer#toString does.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The file as text. Most files are pure ASCII, where Latin-1 and UTF-8 read the same and copying
 * the bytes into a one-byte string is about 1.5× faster than UTF-8 decoding (isAscii is a SIMD
 * scan); the rest (and any BOM, which is not ASCII) go through the decoder.
 */
function fileText(bytes: Uint8Array): string {
  if (!isAscii(bytes)) return utf8.decode(bytes);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.toString("latin1");
}

export function parsePostFile(bytes: Uint8Array): PostContent {
  const raw: unknown = JSON.parse(fileText(bytes));
  // zod checks the shape, but the values returned are JSON.parse's own objects: rebuilding them
  // (as a zod record does) would turn a "__proto__" key into the object's prototype, letting a
  // measurement smuggle inherited fields past the scorers.
  // The hand check below accepts exactly what PostSchema does; zod runs only on what it rejects,
  // to throw zod's own error (the fastpath and the archiver report its first issue). Running zod on
  // every file cost ~2 % of the fastpath's bytes → row time.
  if (!isEnvelope(raw)) PostSchema.parse(raw);
  const envelope = raw as { report_id?: string; content: Record<string, unknown> | string };
  const rawContent = envelope.content;
  const content = typeof rawContent === "string" ? (JSON.parse(rawContent) as unknown) : rawContent;
  if (!isObject(content)) JsonObject.parse(content);
  const measurement = content as Record<string, unknown>;
  const inner = Object.hasOwn(measurement, "report_id") ? measurement.report_id : undefined;
  const outer = Object.hasOwn(envelope, "report_id") ? envelope.report_id : undefined;
  const reportId = typeof inner === "string" && inner !== "" ? inner : outer ?? null;
  const v = Object.hasOwn(envelope, "is_verified") ? (envelope as unknown as { is_verified: unknown }).is_verified : undefined;
  return { reportId, measurement, isVerified: v === "t" || v === "f" ? v : "u" };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** What PostSchema accepts: an object, optional string format / report_id, content an object or a string. */
function isEnvelope(v: unknown): boolean {
  if (!isObject(v)) return false;
  const format = Object.hasOwn(v, "format") ? v.format : undefined;
  const reportId = Object.hasOwn(v, "report_id") ? v.report_id : undefined;
  const content = Object.hasOwn(v, "content") ? v.content : undefined;
  return (
    (format === undefined || typeof format === "string") &&
    (reportId === undefined || typeof reportId === "string") &&
    (typeof content === "string" || isObject(content))
  );
}
