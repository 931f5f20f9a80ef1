// A small seeded generator so the synthetic world is the same for the same seed on every
// machine: a 32-bit xorshift sequence added to a 32-bit linear congruential one (each alone has
// visible patterns; their sum is plenty for made-up test data). Not for anything secret.

export function seededRandom(seed: number): () => number {
  let x = (seed >>> 0) ^ 0x2545f491 || 1;
  let y = (Math.imul(seed >>> 0, 2654435761) + 1) >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    y = (Math.imul(y, 1664525) + 1013904223) >>> 0;
    return ((x + y) >>> 0) / 4294967296;
  };
}

/** Zipf-like weights 1/rank^s for `n` items. */
export function zipfWeights(n: number, s: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s));
}

/**
 * An inverse-CDF lookup table: slot k holds the (1-based) index of the item covering the
 * k-th quantile, so SQL picks an item with one array access per row. Every item with a weight
 * gets at least one slot.
 */
export function lookupTable(weights: number[], size: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const slots = weights.map((w) => (w > 0 ? Math.max(1, Math.round((w / total) * size)) : 0));
  // Trim or pad the largest item so the table has exactly `size` slots.
  const biggest = slots.indexOf(Math.max(...slots));
  slots[biggest]! += size - slots.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  slots.forEach((n, i) => {
    for (let k = 0; k < n; k++) out.push(i + 1);
  });
  return out;
}
