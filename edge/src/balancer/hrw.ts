// Weighted rendezvous (highest random weight) hashing. Every helper scores each client key with
// score = weight / -ln(u), u a uniform hash of (key, helper) in (0, 1); the best score wins. Removing
// or draining a helper moves only the clients it was winning, and they come back when it returns,
// because no other pair's score changes. Shares follow the weights. Cost: O(helpers), no allocation.
import { hashString } from "./mix";

export interface HrwPool {
  readonly size: number;
  readonly weights: Float64Array;
  readonly seedA: Uint32Array;
  readonly seedB: Uint32Array;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_52 = 4503599627370496;

export function helperSeeds(id: string): [number, number] {
  return [hashString(id, 0x51ed270b), hashString(id, 0x6a09e667)];
}

// mix.ts's round and finalizer, repeated here so the selection loop makes no cross-module calls
// (they inline reliably this way, bundled or not).
function round(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Index of the best-scoring helper among those with usable[i] = 1 and (if given) tried[i] = 0, or
 * -1 when none is left. Called once per attempt: the second call, with the first winner marked in
 * `tried`, yields the runner-up, and so on — the failover order.
 */
export function pickBest(pool: HrwPool, k0: number, k1: number, usable: Uint8Array, tried: Uint8Array | null): number {
  let best = -1;
  let bestScore = 0;
  const { size, weights, seedA, seedB } = pool;
  for (let i = 0; i < size; i++) {
    if (usable[i] === 0 || (tried !== null && tried[i] === 1)) continue;
    const w = weights[i]!;
    if (w <= 0) continue;
    const hi = fmix(round(round(seedA[i]!, k0), k1) ^ 8);
    const lo = fmix(round(round(seedB[i]!, k1), k0) ^ hi);
    // 52 uniform bits + ½ → u in (0, 1) exactly (no rounding to 0 or 1), so the log is finite and < 0.
    const u = ((hi >>> 12) * TWO_POW_32 + lo + 0.5) / TWO_POW_52;
    // -ln(u) >= 1 - u, so w / (1 - u) bounds the score from above: most helpers are ruled out
    // without the logarithm, which costs more than the hash. The outcome is exactly the same.
    if (best >= 0 && w / (1 - u) <= bestScore) continue;
    const score = w / -Math.log(u);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}
