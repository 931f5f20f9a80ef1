// The order in which one network's probes get a country's URLs: the servable candidates (priority
// > 0, wanted category) grouped by weight, highest first. Building one costs a pass over the
// candidates and a sort of the distinct weights; taking a list from it costs only what is taken.
//
// Within a group (equal weights) the order must be random for every request, as prioritize.ts's
// shuffle-then-sort makes it. `take` draws the first k of a group by a partial Fisher-Yates shuffle
// done in place: each draw is uniform over what is left whatever the group's current arrangement,
// so the shared arrays can be reshuffled by every request (requests run one at a time: no locking).

export class Ranking {
  private constructor(
    /** Candidate indices (into the country view's entries), grouped by weight, highest first. */
    private readonly order: Uint32Array,
    /** Weight of each group. */
    private readonly groupWeight: Float64Array,
    /** End position (exclusive) of each group in `order`. */
    private readonly groupEnd: Uint32Array,
  ) {}

  get size(): number {
    return this.order.length;
  }

  /** Groups the candidates `indices` by `weights` (parallel arrays of `length`). */
  static build(indices: Uint32Array, weights: Float64Array, length: number): Ranking {
    const groups = new Map<number, number[]>();
    for (let k = 0; k < length; k++) {
      const w = weights[k]!;
      const g = groups.get(w);
      if (g) g.push(indices[k]!);
      else groups.set(w, [indices[k]!]);
    }
    const distinct = Float64Array.from(groups.keys()).sort().reverse();
    const order = new Uint32Array(length);
    const groupEnd = new Uint32Array(distinct.length);
    let pos = 0;
    for (let j = 0; j < distinct.length; j++) {
      for (const i of groups.get(distinct[j]!)!) order[pos++] = i;
      groupEnd[j] = pos;
    }
    return new Ranking(order, distinct, groupEnd);
  }

  /** Calls `each(candidate index, weight)` for the first `limit` candidates of a fresh random order. */
  take(limit: number, each: (index: number, weight: number) => void): void {
    const order = this.order;
    let taken = 0;
    let start = 0;
    for (let j = 0; j < this.groupEnd.length && taken < limit; j++) {
      const end = this.groupEnd[j]!;
      const w = this.groupWeight[j]!;
      const stop = start + Math.min(limit - taken, end - start);
      for (let t = start; t < stop; t++) {
        const r = t + Math.floor(Math.random() * (end - t));
        const x = order[r]!;
        order[r] = order[t]!;
        order[t] = x;
        each(x, w);
      }
      taken += stop - start;
      start = end;
    }
  }
}
