import { queryRows, type Database } from "../../db/clickhouse";
import type { PriorityRule } from "../prioritize";
import type { CountRow } from "./counts";
import type { ListRow } from "./snapshot";

// What the in-memory test-list snapshot is read from, and how a host notices it changed.
//
// The version of the lists is a checksum of the citizenlab and url_priorities tables themselves
// (row count and a sum of row hashes, one short query over a few tens of thousands of rows), not a
// counter that writers bump: every way the tables change — `testlists load`, the citizenlab updater,
// a rule edited on another origin host, an operator's INSERT — changes it, and no writer can forget.
// The measurement counts change with every measurement, so they are re-read on a timer instead.

const CHECKSUM = `
SELECT
  (SELECT toString(count()) || ':' || toString(sum(cityHash64(domain, url, toString(cc), category_code))) FROM citizenlab) AS lists,
  (SELECT toString(count()) || ':' || toString(sum(cityHash64(sign, category_code, cc, domain, url, priority))) FROM url_priorities) AS rules`;

const LIST_ROWS = "SELECT DISTINCT domain, url, toString(cc) AS cc, category_code FROM citizenlab";

// The same rows check-in's query reads (FINAL, sign = 1), for every country at once.
const RULES = "SELECT category_code, cc, domain, url, priority FROM url_priorities FINAL WHERE sign = 1";

// This week and last, as the query-based list counts them.
const COUNTS = `
SELECT probe_cc, probe_asn, input, toUInt64(sum(msmt_cnt)) AS msmt_cnt
FROM counters_asn_test_list
WHERE week IN (toStartOfWeek(now()), toStartOfWeek(now() - INTERVAL 1 WEEK))
GROUP BY probe_cc, probe_asn, input`;

export async function listsVersion(db: Database): Promise<string> {
  const [row] = await queryRows<{ lists: string; rules: string }>(db, CHECKSUM);
  return `${row?.lists ?? ""}/${row?.rules ?? ""}`;
}

export async function readListRows(db: Database): Promise<ListRow[]> {
  return queryRows<ListRow>(db, LIST_ROWS);
}

export async function readRules(db: Database): Promise<PriorityRule[]> {
  const rows = await queryRows<PriorityRule>(db, RULES);
  return rows.map((r) => ({ ...r, priority: Number(r.priority) }));
}

export async function readCounts(db: Database): Promise<CountRow[]> {
  return queryRows<CountRow>(db, COUNTS);
}
