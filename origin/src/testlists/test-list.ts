import type { Database } from "../db/clickhouse";
import { queryRows } from "../db/clickhouse";
import { computePriorities, sampleItems, selectItems, type Candidate, type PriorityRule, type TestListItem } from "./prioritize";

// The web_connectivity URL list for a probe: candidates (the country's citizenlab rows plus the
// global ones) with this network's measurement counts for this week and last, priority rules for
// the country, then prioritize.ts. When that yields nothing (rules drop everything) the probe gets
// a random sample of global URLs instead — an empty list is an error for the probe — and when the
// database fails, a sample from the last global list we read.

const CANDIDATES = `
SELECT c.category_code AS category_code, c.domain AS domain, c.url AS url, toString(c.cc) AS cc,
       toUInt64(cnt.msmt_cnt) AS msmt_cnt
FROM (
  SELECT DISTINCT domain, url, cc, category_code
  FROM citizenlab
  WHERE cc = {cc_low:String} OR cc = {cc:String} OR cc = 'ZZ'
) AS c
LEFT JOIN (
  SELECT input, sum(msmt_cnt) AS msmt_cnt
  FROM counters_asn_test_list
  WHERE probe_cc = {cc:String}
    AND week IN (toStartOfWeek(now()), toStartOfWeek(now() - INTERVAL 1 WEEK))
    AND ({asn:UInt32} = 0 OR probe_asn = {asn:UInt32})
  GROUP BY input
) AS cnt ON c.url = cnt.input`;

const RULES = `
SELECT category_code, cc, domain, url, priority
FROM url_priorities FINAL
WHERE sign = 1 AND (cc = {cc:String} OR cc = '*' OR cc = '')`;

const GLOBAL = "SELECT DISTINCT category_code, domain, url, toString(cc) AS cc, toUInt64(0) AS msmt_cnt FROM citizenlab WHERE cc = 'ZZ'";

export interface TestListRequest {
  /** Upper-case country, "ZZ" when unknown. */
  cc: string;
  /** 0 when unknown: counts from every network in the country. */
  asn: number;
  /** Upper-case category codes; empty = all. */
  categoryCodes: readonly string[];
  limit: number;
  debug?: boolean;
}

export interface TestListResult {
  items: TestListItem[];
  source: "prioritized" | "fallback" | "failover";
}

const FAILOVER_REFRESH_MS = 10 * 60 * 1000;

export class TestLists {
  private failover: Candidate[] = [];
  private failoverAt = 0;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly log: { warn(o: object, m: string): void; error(o: object, m: string): void },
  ) {}

  async fetchCandidates(cc: string, asn: number): Promise<Candidate[]> {
    const rows = await queryRows<Candidate>(this.db, CANDIDATES, { cc, cc_low: cc.toLowerCase(), asn });
    return rows.map((r) => ({ ...r, msmt_cnt: Number(r.msmt_cnt) }));
  }

  async fetchRules(cc: string): Promise<PriorityRule[]> {
    const rows = await queryRows<PriorityRule>(this.db, RULES, { cc });
    return rows.map((r) => ({ ...r, priority: Number(r.priority) }));
  }

  async generate(req: TestListRequest): Promise<TestListResult> {
    let candidates: Candidate[];
    let rules: PriorityRule[];
    try {
      [candidates, rules] = await Promise.all([this.fetchCandidates(req.cc, req.asn), this.fetchRules(req.cc)]);
    } catch (err) {
      this.log.error({ err, cc: req.cc }, "test list query failed: serving a sample of the last known global list");
      return { items: sampleItems(this.failover, req.categoryCodes, req.limit), source: "failover" };
    }
    this.refreshFailoverSoon();
    const items = selectItems(computePriorities(candidates, rules), req.categoryCodes, req.limit, req.debug ?? false);
    if (items.length > 0) return { items, source: "prioritized" };
    const global = candidates.filter((c) => c.cc.toUpperCase() === "ZZ");
    let fallback = sampleItems(global, req.categoryCodes, req.limit);
    if (fallback.length === 0) fallback = sampleItems(candidates, req.categoryCodes, req.limit);
    if (fallback.length > 0) this.log.warn({ cc: req.cc, asn: req.asn }, "prioritization left no URLs: serving a random sample instead");
    return { items: fallback, source: "fallback" };
  }

  /** Keeps the in-memory copy of the global list (used only when the database fails) fresh. */
  refreshFailoverSoon(force = false): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (!force && Date.now() - this.failoverAt < FAILOVER_REFRESH_MS) return Promise.resolve();
    this.failoverAt = Date.now();
    this.refreshing = queryRows<Candidate>(this.db, GLOBAL)
      .then((rows) => {
        if (rows.length > 0) this.failover = rows.map((r) => ({ ...r, msmt_cnt: 0 }));
      })
      .catch((err: unknown) => this.log.warn({ err }, "could not refresh the failover test list"))
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }
}
