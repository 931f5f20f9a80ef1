// This week's and last week's web_connectivity measurement counts per country, network and URL
// (what check-in's prioritization divides by), held in memory. Built from the rows of
// counters_asn_test_list summed over the two weeks; read-only once built, replaced whole on refresh.

export interface CountRow {
  probe_cc: string;
  probe_asn: number;
  input: string;
  msmt_cnt: number;
}

interface CountryCounts {
  /** Every network of the country together: what a probe with an unknown ASN (0) is weighed by. */
  all: Map<string, number>;
  byAsn: Map<number, Map<string, number>>;
}

const EMPTY: ReadonlyMap<string, number> = new Map();

let generation = 0;

export class MeasurementCounts {
  static readonly empty = new MeasurementCounts([]);

  /** Tells one set of counts from the next (what derived rankings are keyed by). */
  readonly id = ++generation;

  readonly #byCountry = new Map<string, CountryCounts>();
  readonly rows: number;

  constructor(rows: Iterable<CountRow>) {
    let n = 0;
    for (const r of rows) {
      const count = Number(r.msmt_cnt);
      if (!(count > 0)) continue;
      n++;
      let c = this.#byCountry.get(r.probe_cc);
      if (!c) this.#byCountry.set(r.probe_cc, (c = { all: new Map(), byAsn: new Map() }));
      c.all.set(r.input, (c.all.get(r.input) ?? 0) + count);
      const asn = Number(r.probe_asn);
      let net = c.byAsn.get(asn);
      if (!net) c.byAsn.set(asn, (net = new Map()));
      net.set(r.input, (net.get(r.input) ?? 0) + count);
    }
    this.rows = n;
  }

  /** URL → count for a probe of `cc` (upper case) on `asn` (0 = every network of the country). */
  forNetwork(cc: string, asn: number): ReadonlyMap<string, number> {
    const c = this.#byCountry.get(cc);
    if (!c) return EMPTY;
    return (asn === 0 ? c.all : c.byAsn.get(asn)) ?? EMPTY;
  }
}
