// 32-bit integer mixing (MurmurHash3's block round and finalizer), written with Math.imul so it stays
// in V8's small-integer fast path: no BigInt, no allocation. Inputs and outputs are uint32.

export function mixRound(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

export function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A string's two independent 32-bit hashes (UTF-16 code units), for helper ids. */
export function hashString(value: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < value.length; i++) h = mixRound(h, value.charCodeAt(i));
  return finalMix(h ^ value.length);
}
