import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

// Lines of an archived `.jsonl.gz` file, decompressed as a stream (a file can hold hundreds of MB
// of measurements once inflated) and across concatenated gzip members, which appending writers
// produce. Errors (corrupt data, truncated file) reject the iteration after the good lines.

const NL = 0x0a;
const SLICE = 64 * 1024;

export async function* gzipLines(compressed: Uint8Array): AsyncGenerator<string> {
  // Fed in slices: zlib drops the output of a write that ends in an error, so small writes keep
  // everything decoded before a damaged member.
  const whole = Buffer.from(compressed.buffer, compressed.byteOffset, compressed.byteLength);
  const slices: Buffer[] = [];
  for (let i = 0; i < whole.length; i += SLICE) slices.push(whole.subarray(i, i + SLICE));
  const gunzip = Readable.from(slices).pipe(createGunzip());
  // Pieces of a line that spans chunks, joined once at its end (a 50 MB line must not be copied
  // once per 16 KB chunk).
  let carry: Buffer[] = [];
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    let start = 0;
    let nl = chunk.indexOf(NL, start);
    while (nl >= 0) {
      const piece = chunk.subarray(start, nl);
      const line = carry.length > 0 ? Buffer.concat([...carry, piece]) : piece;
      carry = [];
      const text = stripCr(line).toString("utf8");
      if (text.trim() !== "") yield text;
      start = nl + 1;
      nl = chunk.indexOf(NL, start);
    }
    if (start < chunk.length) carry.push(chunk.subarray(start));
  }
  if (carry.length > 0) {
    const text = stripCr(Buffer.concat(carry)).toString("utf8");
    if (text.trim() !== "") yield text;
  }
}

function stripCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b;
}
