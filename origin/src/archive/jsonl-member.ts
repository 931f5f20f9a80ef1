import buffer from "node:buffer";
import { promisify } from "node:util";
import zlib from "node:zlib";

// Direct access to one measurement in a JSONL.gz file. The file is a concatenation of gzip members,
// one per measurement, each holding one line (the measurement and "\n"). RFC 1952 allows several
// members in one file and every gzip reader (zcat, Python's gzip, zlib with auto-reset) reads them
// as one stream, so the file stays an ordinary JSONL.gz; and because each member stands alone, the
// jsonl table can record its byte offset and length: one ranged GET of about the compressed size
// of the measurement returns it.

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export const GZIP_LEVEL = 6;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

/**
 * The JSONL line of a measurement. Valid JSON can hold a raw CR or LF only as whitespace between
 * tokens (inside strings they must be escaped), so turning them into spaces keeps the same JSON
 * value on a single line. The probe engine never emits them; for the rare hand-made measurement
 * that does, the postcan keeps the exact bytes.
 */
export function jsonlLine(measurement: Uint8Array): Buffer {
  const line = Buffer.allocUnsafe(measurement.length + 1);
  line.set(measurement);
  line[measurement.length] = LF;
  if (isSingleLine(measurement)) return line; // the usual case, found by native search
  for (let i = 0; i < measurement.length; i++) if (line[i] === LF || line[i] === CR) line[i] = SPACE;
  return line;
}

/** Whether jsonlLine leaves the measurement bytes unchanged (no raw CR/LF in them). */
export function isSingleLine(measurement: Uint8Array): boolean {
  return !measurement.includes(LF) && !measurement.includes(CR);
}

/** One self-contained gzip member. Deterministic: zlib writes mtime 0 and a fixed OS byte. */
export function gzipMember(line: Uint8Array): Promise<Buffer> {
  return gzip(line, { level: GZIP_LEVEL });
}

/**
 * The measurement in one member fetched with a ranged read: decompress, drop the line's "\n".
 * `maxBytes` bounds the decompressed size (a damaged or hostile object cannot exhaust memory).
 */
export async function readMember(member: Uint8Array, maxBytes: number): Promise<Buffer> {
  const line = await gunzip(member, { maxOutputLength: maxBytes + 1 });
  return line[line.length - 1] === LF ? line.subarray(0, line.length - 1) : line;
}

/**
 * Line `linenum` (0-based) of a whole JSONL.gz file: the fallback for index rows written without
 * byte offsets (imported from the legacy archive), which costs a download of the whole file.
 */
export async function readLine(file: Uint8Array, linenum: number, maxBytes: number): Promise<Buffer | null> {
  const cap = Math.min(buffer.constants.MAX_LENGTH, Math.max(maxBytes, file.length * 64));
  const text = await gunzip(file, { maxOutputLength: cap });
  let start = 0;
  for (let n = 0; start <= text.length; n++) {
    let end = text.indexOf(LF, start);
    if (end < 0) end = text.length;
    if (n === linenum) return end > start || end < text.length ? text.subarray(start, end) : null;
    start = end + 1;
  }
  return null;
}
