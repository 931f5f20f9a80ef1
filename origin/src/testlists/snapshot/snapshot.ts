import { sampleItems, toItem, type Candidate, type PriorityRule, type TestListItem } from "../prioritize";
import type { TestListRequest, TestListResult } from "../test-list";
import type { MeasurementCounts } from "./counts";

// The test lists and prioritization rules as one immutable in-memory value: check-in and
// /api/v1/test-list/urls answer from it without touching the database. It gives the answer the
// query-based TestLists (../test-list.ts) gives for the same rows — same candidates, priorities,
// weights, filtering, fallback — computed differently for speed:
//
// - what depends only on the country (its candidate URLs and the sum of the rules each matches) is
//   computed once per country and snapshot, on first use;
// - per request only the weights (priority / max(count, 0.1), with this network's counts) of the
//   URLs that can be served (priority > 0, wanted category) are computed, in typed arrays, and
//   ordered by weight with ties broken at random — the same order distribution as shuffling then
//   stable-sorting, without allocating an object per candidate.

export interface ListRow {
  domain: string;
  url: string;
  /** As stored: lower-case country, or "ZZ" for the global list. */
  cc: string;
  category_code: string;
}

interface CountryView {
  /** The country's rows (stored lower or upper case) and the global ones, as the query selects. */
  entries: ListRow[];
  priority: Float64Array;
  /** Indices of entries with priority > 0: the only ones a prioritized list may contain. */
  positive: Uint32Array;
}

export class TestListSnapshot {
  static readonly empty = new TestListSnapshot([], []);

  readonly #byCc = new Map<string, ListRow[]>();
  readonly #rules: readonly PriorityRule[];
  readonly #views = new Map<string, CountryView>();
  readonly rows: number;
  readonly ruleCount: number;

  constructor(rows: readonly ListRow[], rules: readonly PriorityRule[]) {
    const seen = new Set<string>();
    let n = 0;
    for (const r of rows) {
      // The query reads DISTINCT rows (ReplacingMergeTree may hold duplicates until a merge).
      const key = `${r.cc}\t${r.category_code}\t${r.domain}\t${r.url}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let list = this.#byCc.get(r.cc);
      if (!list) this.#byCc.set(r.cc, (list = []));
      list.push(r);
      n++;
    }
    this.rows = n;
    this.#rules = rules;
    this.ruleCount = rules.length;
  }

  /** The view for a request's country (upper case), built on first use. */
  #view(cc: string): CountryView {
    let v = this.#views.get(cc);
    if (v) return v;
    const low = cc.toLowerCase();
    const ccs = [...new Set([low, cc, "ZZ"])];
    const entries = ccs.flatMap((k) => this.#byCc.get(k) ?? []);
    // The rules the query would read for this country: its own, and those for any country.
    const rules = this.#rules.filter((r) => r.cc === cc || r.cc === "*" || r.cc === "");
    const priority = new Float64Array(entries.length);
    const positive: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      let p = rules.length === 0 ? 1 : 0;
      const ecc = e.cc.toUpperCase();
      for (const r of rules) {
        if (r.category_code !== "" && r.category_code !== "*" && r.category_code !== e.category_code) continue;
        if (r.domain !== "" && r.domain !== "*" && r.domain !== e.domain) continue;
        if (r.url !== "" && r.url !== "*" && r.url !== e.url) continue;
        // A country rule also applies to global URLs seen from that country (prioritize.ts).
        if (ecc !== "ZZ" && r.cc !== "" && r.cc !== "*" && r.cc.toUpperCase() !== ecc) continue;
        p += r.priority;
      }
      priority[i] = p;
      if (p > 0) positive.push(i);
    }
    v = { entries, priority, positive: Uint32Array.from(positive) };
    this.#views.set(cc, v);
    return v;
  }

  generate(req: TestListRequest, counts: MeasurementCounts): TestListResult {
    const view = this.#view(req.cc);
    const wanted = req.categoryCodes.length > 0 ? new Set(req.categoryCodes) : null;
    const network = counts.forNetwork(req.cc, req.asn);

    // Candidates that can be served, with their weights and a random tie-breaker.
    const n = view.positive.length;
    const idx = new Uint32Array(n);
    const weight = new Float64Array(view.entries.length);
    const tie = new Float64Array(view.entries.length);
    let m = 0;
    for (let k = 0; k < n; k++) {
      const i = view.positive[k]!;
      const e = view.entries[i]!;
      if (wanted && !wanted.has(e.category_code)) continue;
      idx[m++] = i;
      weight[i] = view.priority[i]! / Math.max(network.get(e.url) ?? 0, 0.1);
      tie[i] = Math.random();
    }
    if (m > 0) {
      const order = idx.subarray(0, m).sort((a, b) => weight[b]! - weight[a]! || tie[a]! - tie[b]!);
      const take = Math.min(req.limit, m);
      const items: TestListItem[] = new Array(take);
      const debug = req.debug ?? false;
      for (let k = 0; k < take; k++) {
        const i = order[k]!;
        const e = view.entries[i]!;
        items[k] = toItem({ ...e, msmt_cnt: network.get(e.url) ?? 0, priority: view.priority[i]!, weight: weight[i]! }, debug);
      }
      return { items, source: "prioritized" };
    }
    // Nothing prioritized: a random sample of the global URLs of the wanted categories, else of the
    // country's (the probe treats an empty list as an error).
    const asCandidates = (rows: ListRow[]): Candidate[] => rows.map((r) => ({ ...r, msmt_cnt: 0 }));
    const global = asCandidates(view.entries.filter((e) => e.cc.toUpperCase() === "ZZ"));
    let fallback = sampleItems(global, req.categoryCodes, req.limit);
    if (fallback.length === 0) fallback = sampleItems(asCandidates(view.entries), req.categoryCodes, req.limit);
    return { items: fallback, source: "fallback" };
  }

  /** A random sample of the global list: what is served before any snapshot could be read. */
  globalSample(categoryCodes: readonly string[], limit: number): TestListItem[] {
    return sampleItems((this.#byCc.get("ZZ") ?? []).map((r) => ({ ...r, msmt_cnt: 0 })), categoryCodes, limit);
  }
}
