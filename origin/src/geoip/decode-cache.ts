// mmdb-lib decodes a fresh object graph per lookup unless given a cache keyed by data offset.
// Distinct records are few (≈250 countries, ≈80k ASNs), so a bounded Map that simply empties
// when full keeps the hot path allocation-free in steady state without an LRU dependency.

export class DecodeCache {
  readonly #map = new Map<string | number, unknown>();

  constructor(readonly max = 20_000) {}

  get(key: string | number): unknown {
    return this.#map.get(key);
  }

  set(key: string | number, value: unknown): void {
    if (this.#map.size >= this.max) this.#map.clear();
    this.#map.set(key, value);
  }
}
