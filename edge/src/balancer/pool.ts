// The helper pool compiled once per configuration: parallel typed arrays that the selection loop
// reads without touching objects.
import type { HelperConfig } from "../../../bridge-config/schema";
import { helperSeeds, type HrwPool } from "./hrw";

export interface CompiledPool extends HrwPool {
  readonly ids: readonly string[];
  readonly urls: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** 1 where weight > 0: drained helpers are never picked, even in panic mode. */
  readonly weighted: Uint8Array;
}

/** `drained` is optional so that callers building pools by hand (tests, the benchmark) need not set it. */
type PoolEntry = Pick<HelperConfig, "id" | "url" | "weight"> & { readonly drained?: boolean };

export function compilePool(helpers: readonly PoolEntry[]): CompiledPool {
  const size = helpers.length;
  const weights = new Float64Array(size);
  const seedA = new Uint32Array(size);
  const seedB = new Uint32Array(size);
  const weighted = new Uint8Array(size);
  const index = new Map<string, number>();
  helpers.forEach((h, i) => {
    // `drained` keeps the operator's weight in the file for undraining; the hash sees 0.
    const weight = h.drained ? 0 : h.weight;
    weights[i] = weight;
    weighted[i] = weight > 0 ? 1 : 0;
    [seedA[i], seedB[i]] = helperSeeds(h.id);
    index.set(h.id, i);
  });
  return {
    size,
    weights,
    seedA,
    seedB,
    weighted,
    index,
    ids: helpers.map((h) => h.id),
    urls: helpers.map((h) => new URL(h.url).origin),
  };
}
