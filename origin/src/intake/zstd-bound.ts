// The zstd decompressor we have (@mongodb-js/zstd) cannot stop at a size limit, so before
// decompressing anything we walk the frame and block headers (RFC 8878) and compute the largest
// output the input can possibly produce: raw and RLE blocks state their size, and a compressed block
// regenerates at most 128 KiB. A body whose bound exceeds the limit is refused without being
// expanded — a "zstd bomb" costs us a header walk, not memory.

const MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;

export class ZstdFormatError extends Error {}

export function zstdOutputBound(buf: Uint8Array): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  let bound = 0;
  let frames = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new ZstdFormatError("truncated zstd stream");
  };
  while (pos < buf.length) {
    need(4);
    const magic = view.getUint32(pos, true);
    pos += 4;
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // Skippable frame: a 4-byte length and opaque bytes, no output.
      need(4);
      const size = view.getUint32(pos, true);
      pos += 4;
      need(size);
      pos += size;
      continue;
    }
    if (magic !== MAGIC) throw new ZstdFormatError("not a zstd frame");
    frames++;
    need(1);
    const fhd = buf[pos++]!;
    if (fhd & 0x08) throw new ZstdFormatError("reserved bit set in zstd frame header");
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd >> 5) & 1;
    const checksum = (fhd >> 2) & 1;
    const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    const headerRest = (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    need(headerRest);
    pos += headerRest;
    for (;;) {
      need(3);
      const h = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
      pos += 3;
      const last = h & 1;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (size > BLOCK_MAX) throw new ZstdFormatError("zstd block larger than 128 KiB");
      if (type === 0) {
        need(size);
        pos += size;
        bound += size;
      } else if (type === 1) {
        need(1);
        pos += 1;
        bound += size;
      } else if (type === 2) {
        need(size);
        pos += size;
        bound += BLOCK_MAX;
      } else {
        throw new ZstdFormatError("reserved zstd block type");
      }
      if (last) break;
    }
    if (checksum) {
      need(4);
      pos += 4;
    }
  }
  if (frames === 0) throw new ZstdFormatError("empty zstd stream");
  return bound;
}
