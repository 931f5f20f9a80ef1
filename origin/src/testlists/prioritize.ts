// URL prioritization for check-in (backend-reference §8), as pure functions over rows the database
// returned. Each candidate URL gets priority = sum of the url_priorities rules it matches, and
// weight = priority / max(measurements this week and last, 0.1): URLs that matter and that this
// network measured least come first. Priority ≤ 0 drops a URL.

export interface Candidate {
  category_code: string;
  domain: string;
  url: string;
  /** citizenlab.cc: lower-case country, or "ZZ" for the global list. */
  cc: string;
  msmt_cnt: number;
}

export interface PriorityRule {
  category_code: string;
  cc: string;
  domain: string;
  url: string;
  priority: number;
}

export interface Prioritized extends Candidate {
  priority: number;
  weight: number;
}

export interface TestListItem {
  category_code: string;
  url: string;
  country_code: string;
  msmt_cnt?: number;
  priority?: number;
  weight?: number;
}

const wild = (v: string) => v === "" || v === "*";

export function ruleMatches(c: Candidate, r: PriorityRule): boolean {
  if (!wild(r.category_code) && r.category_code !== c.category_code) return false;
  if (!wild(r.domain) && r.domain !== c.domain) return false;
  if (!wild(r.url) && r.url !== c.url) return false;
  // A country rule applies to that country's URLs and to global ones seen from that country; the
  // database stores country rows in lower case and rules in upper case.
  const cc = c.cc.toUpperCase();
  if (cc !== "ZZ" && !wild(r.cc) && r.cc.toUpperCase() !== cc) return false;
  return true;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Highest weight first. Equal weights come in random order, so that with no measurements yet
 * (a fresh system) probes do not all start with the same URLs. With no rules at all every URL has
 * priority 1: the least-measured URLs come first.
 */
export function computePriorities(candidates: readonly Candidate[], rules: readonly PriorityRule[]): Prioritized[] {
  const out = candidates.map((c) => {
    let priority = rules.length === 0 ? 1 : 0;
    for (const r of rules) if (ruleMatches(c, r)) priority += r.priority;
    return { ...c, priority, weight: priority / Math.max(c.msmt_cnt, 0.1) };
  });
  return shuffle(out).sort((a, b) => b.weight - a.weight);
}

export function toItem(p: Candidate & Partial<Pick<Prioritized, "priority" | "weight">>, debug: boolean): TestListItem {
  const cc = p.cc.toUpperCase();
  const item: TestListItem = { category_code: p.category_code, url: p.url, country_code: cc === "ZZ" ? "XX" : cc };
  if (debug) {
    item.msmt_cnt = p.msmt_cnt;
    item.priority = p.priority ?? 0;
    item.weight = p.weight ?? 0;
  }
  return item;
}

/** Drops unwanted categories and priority ≤ 0, keeps the first `limit`. */
export function selectItems(prioritized: readonly Prioritized[], categoryCodes: readonly string[], limit: number, debug: boolean): TestListItem[] {
  const wanted = new Set(categoryCodes);
  const out: TestListItem[] = [];
  for (const p of prioritized) {
    if (out.length >= limit) break;
    if (wanted.size > 0 && !wanted.has(p.category_code)) continue;
    if (p.priority <= 0) continue;
    out.push(toItem(p, debug));
  }
  return out;
}

/** A random sample, for when prioritization yields nothing or the database is down. */
export function sampleItems(candidates: readonly Candidate[], categoryCodes: readonly string[], limit: number): TestListItem[] {
  const wanted = new Set(categoryCodes);
  const pool = candidates.filter((c) => wanted.size === 0 || wanted.has(c.category_code));
  return shuffle([...pool]).slice(0, limit).map((c) => toItem(c, false));
}
