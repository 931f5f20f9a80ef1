// Python's base64.b64decode (non-validating), which the fastpath uses on `{format: "base64"}`
// bodies and headers. Node's decoder never fails, but Python raises binascii.Error on bad
// padding and the fastpath scores such measurements as failed, so the rules are reproduced:
// characters outside the alphabet are skipped, a complete "=" pad ends the data, and leftover
// data characters (1 → invalid length, 2-3 → incorrect padding) are an error.

const TABLE = new Int8Array(128).fill(-1);
{
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) TABLE[alphabet.charCodeAt(i)] = i;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Decoded bytes, or null where Python would raise (bad padding, non-ASCII text, not a string). */
export function pyB64Decode(data: unknown): Uint8Array | null {
  if (typeof data !== "string") return null;
  // str input must be all ASCII (Python raises ValueError before decoding anything).
  if (NON_ASCII.test(data)) return null;
  const n = data.length;
  const out = new Uint8Array(Math.floor((n * 3) / 4) + 3);
  let o = 0;
  let quad = 0;
  let left = 0;
  let pads = 0;
  for (let i = 0; i < n; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x3d) {
      // "=": only a pad completing a started quad ends the input; others are skipped.
      if (quad >= 2 && quad + ++pads >= 4) return out.subarray(0, o);
      continue;
    }
    const v = TABLE[c]!;
    if (v < 0) continue;
    pads = 0;
    switch (quad) {
      case 0:
        quad = 1;
        left = v;
        break;
      case 1:
        quad = 2;
        out[o++] = ((left << 2) | (v >> 4)) & 0xff;
        left = v & 0x0f;
        break;
      case 2:
        quad = 3;
        out[o++] = ((left << 4) | (v >> 2)) & 0xff;
        left = v & 0x03;
        break;
      default:
        quad = 0;
        out[o++] = ((left << 6) | v) & 0xff;
        left = 0;
    }
  }
  return quad === 0 ? out.subarray(0, o) : null;
}

/** bytes.decode("latin1"): one char per byte, never fails. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
