import { sampleItems, toItem, type Candidate, type PriorityRule, type TestListItem } from "../prioritize";
import type { TestListRequest, TestListResult } from "../test-list";
import type { MeasurementCounts } from "./counts";
import { Ranking } from "./ranking";

// The test lists and prioritization rules as one immutable in-memory value: check-in and
// /api/v1/test-list/urls answer from it without touching the database. It gives the answer the
// query-based TestLists (../test-list.ts) gives for the same rows — same candidates, priorities,
// weights, filtering, fallback — computed differently for speed:
//
// - what depends only on the country (its candidate URLs and the sum of the rules each matches) is
//   computed once per country and snapshot, on first use;
// - the weights (priority / max(count, 0.1), with a network's counts) of the URLs that can be
//   served (priority > 0, wanted category), grouped and ordered, once per country, network and
//   category filter for these lists and counts (Ranking);
// - per request, only the `limit` URLs served are drawn, in a fresh random order among equal
//   weights (Ranking.take).

export interface ListRow {
  domain: string;
  url: string;
  /** As stored: lower-case country, or "ZZ" for the global list. */
  cc: string;
  category_code: string;
}

// Working arrays for building a ranking, reused: building is synchronous, so one set serves all
// (fresh typed arrays each time cost more in garbage collection than the computation itself).
let scratchIdx = new Uint32Array(4096);
let scratchWeight = new Float64Array(4096);
function scratch(n: number): { idx: Uint32Array; weight: Float64Array } {
  if (scratchIdx.length < n) {
    scratchIdx = new Uint32Array(n);
    scratchWeight = new Float64Array(n);
  }
  return { idx: scratchIdx, weight: scratchWeight };
}

interface CountryView {
  /** The country's rows (stored lower or upper case) and the global ones, as the query selects. */
  entries: ListRow[];
  priority: Float64Array;
  /** Indices of entries with priority > 0: the only ones a prioritized list may contain. */
  positive: Uint32Array;
  /** What the probe is told: the entry's country upper case, "XX" for global URLs. */
  countryCode: string[];
  /** The entry as a list item in JSON ({category_code, url, country_code}). */
  json: string[];
}

export interface TestListJson {
  /** A JSON array of list items. */
  json: string;
  /**
   * The array's elements without the brackets, as one flat string: what the check-in answer
   * writes to the socket as it is (json is "[" + items + "]", a string V8 would copy to flatten).
   */
  items: string;
  count: number;
  source: TestListResult["source"];
}

/** Rankings kept per snapshot (each a few tens of KB at most: one per country, network, filter). */
const MAX_RANKINGS = 2048;

export class TestListSnapshot {
  static readonly empty = new TestListSnapshot([], []);

  readonly #byCc = new Map<string, ListRow[]>();
  readonly #rules: readonly PriorityRule[];
  readonly #views = new Map<string, CountryView>();
  readonly #rankings = new Map<string, Ranking>();
  /** Each row's list-item JSON (its country_code depends on the row alone). */
  readonly #json = new WeakMap<ListRow, string>();
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
    const countryCode = entries.map((e) => toItem({ ...e, msmt_cnt: 0 }, false).country_code);
    const json = entries.map((e, i) => this.#entryJson(e, countryCode[i]!));
    v = { entries, priority, positive: Uint32Array.from(positive), countryCode, json };
    this.#views.set(cc, v);
    return v;
  }

  /**
   * A row as a list item in JSON, made once per row: the global rows are in every country's view,
   * and sharing one string per row keeps the memory a check-in reads small (the URLs a request
   * draws are scattered reads; with a copy per country they missed the CPU caches far more often).
   */
  #entryJson(e: ListRow, countryCode: string): string {
    let json = this.#json.get(e);
    if (json === undefined) {
      json = JSON.stringify({ category_code: e.category_code, url: e.url, country_code: countryCode });
      this.#json.set(e, json);
    }
    return json;
  }

  /**
   * The ranking of a country's servable URLs for one network and category filter, built on first
   * use and kept (a bounded number of them) until the snapshot or the counts are replaced. Networks
   * without measurements of the country's URLs all share one.
   */
  #ranking(cc: string, view: CountryView, counts: MeasurementCounts, asn: number, categoryCodes: readonly string[]): Ranking {
    const network = counts.forNetwork(cc, asn);
    const cats = categoryCodes.length > 0 ? [...categoryCodes].sort().join(",") : "";
    const key = `${counts.id}|${cc}|${network.size === 0 ? "-" : asn}|${cats}`;
    let r = this.#rankings.get(key);
    if (r) {
      // Recently used last: the oldest entries are the ones dropped.
      this.#rankings.delete(key);
      this.#rankings.set(key, r);
      return r;
    }
    const wanted = cats !== "" ? new Set(categoryCodes) : null;
    const n = view.positive.length;
    const { idx, weight } = scratch(n);
    let m = 0;
    for (let k = 0; k < n; k++) {
      const i = view.positive[k]!;
      const e = view.entries[i]!;
      if (wanted && !wanted.has(e.category_code)) continue;
      idx[m] = i;
      weight[m++] = view.priority[i]! / Math.max(network.get(e.url) ?? 0, 0.1);
    }
    r = Ranking.build(idx, weight, m);
    this.#rankings.set(key, r);
    if (this.#rankings.size > MAX_RANKINGS) this.#rankings.delete(this.#rankings.keys().next().value!);
    return r;
  }

  generate(req: TestListRequest, counts: MeasurementCounts): TestListResult {
    const view = this.#view(req.cc);
    const ranking = this.#ranking(req.cc, view, counts, req.asn, req.categoryCodes);
    if (ranking.size > 0) {
      const network = counts.forNetwork(req.cc, req.asn);
      const debug = req.debug ?? false;
      const items: TestListItem[] = [];
      ranking.take(req.limit, (i, weight) => {
        const e = view.entries[i]!;
        const item: TestListItem = { category_code: e.category_code, url: e.url, country_code: view.countryCode[i]! };
        if (debug) {
          item.msmt_cnt = network.get(e.url) ?? 0;
          item.priority = view.priority[i]!;
          item.weight = weight;
        }
        items.push(item);
      });
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

  /**
   * generate() with the list already serialized as a JSON array: check-in writes it into its
   * answer as is. The URLs of a prioritized list are joined from per-URL JSON made once per
   * snapshot, instead of building and serializing an object per URL on every check-in.
   */
  generateJson(req: TestListRequest, counts: MeasurementCounts): TestListJson {
    if (!req.debug) {
      const view = this.#view(req.cc);
      const ranking = this.#ranking(req.cc, view, counts, req.asn, req.categoryCodes);
      if (ranking.size > 0) {
        const parts: string[] = [];
        ranking.take(req.limit, (i) => parts.push(view.json[i]!));
        const items = parts.join(",");
        return { json: `[${items}]`, items, count: parts.length, source: "prioritized" };
      }
    }
    const { items, source } = this.generate(req, counts);
    const json = JSON.stringify(items);
    return { json, items: json.slice(1, -1), count: items.length, source };
  }
}

