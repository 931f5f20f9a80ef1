import { queryRows, type Database } from "../db/clickhouse";
import { KeyedMutex } from "../oonirun/write-api";
import { sameTarget, type Rule } from "./rules";

// url_priorities is a CollapsingMergeTree(sign): a rule is a row with sign 1; deleting it inserts
// the identical row with sign -1, and the pair cancels out. Reads use FINAL (which collapses pairs
// at read time, before any merge) and keep sign = 1, so a change is visible to the next read —
// including check-in's (testlists/test-list.ts reads the same way).
// A row is live when its +1 rows outnumber its -1 rows. An update checks that the old rule is
// live (and takes its stored spelling, '' or '*') and refuses a new rule that duplicates a live
// one. It then writes as many rows as it takes to bring the row's balance (sum of sign) to exactly
// 0 (delete) or 1 (add): a stray row left by two origins racing (two deletes of one rule, two
// adds) is repaired by the next change instead of silently hiding or pinning a rule. Updates are
// serialized in this process; see docs/write-apis.md for several origins.

export class UpdateConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UpdateConflict";
  }
}

const MATCH_TARGET = `
  (category_code = {category_code:String} OR ({category_code:String} = '*' AND category_code = ''))
  AND (cc = {cc:String} OR ({cc:String} = '*' AND cc = ''))
  AND (domain = {domain:String} OR ({domain:String} = '*' AND domain = ''))
  AND (url = {url:String} OR ({url:String} = '*' AND url = ''))`;

export class PriorityStore {
  readonly #lock = new KeyedMutex();

  constructor(private readonly db: Database) {}

  async list(): Promise<Rule[]> {
    const rows = await queryRows<Rule>(
      this.db,
      `SELECT category_code, cc, domain, url, priority FROM url_priorities FINAL
       WHERE sign = 1 ORDER BY cc, category_code, domain, url, priority`,
    );
    return rows.map((r) => ({ ...r, priority: Number(r.priority) }));
  }

  /** Live rules with the same target as `r` (and the same priority when `withPriority`). */
  async #live(r: Rule, withPriority: boolean): Promise<Rule[]> {
    const rows = await queryRows<Rule>(
      this.db,
      `SELECT category_code, cc, domain, url, priority FROM url_priorities FINAL
       WHERE sign = 1 AND ${MATCH_TARGET} ${withPriority ? "AND priority = {priority:Int32}" : ""}`,
      { ...r },
    );
    return rows.map((x) => ({ ...x, priority: Number(x.priority) }));
  }

  /** sum(sign) over the stored rows of exactly this rule (priority included): 1 when live and sound. */
  async #balance(r: Rule): Promise<number> {
    const [row] = await queryRows<{ s: number }>(
      this.db,
      `SELECT sum(sign) AS s FROM url_priorities
       WHERE category_code = {category_code:String} AND cc = {cc:String} AND domain = {domain:String}
         AND url = {url:String} AND priority = {priority:Int32}`,
      { ...r },
    );
    return Number(row?.s ?? 0);
  }

  /** Replaces `old` by `next` (either may be null: add or delete). Throws UpdateConflict. */
  update(old: Rule | null, next: Rule | null): Promise<void> {
    return this.#lock.run("url_priorities", async () => {
      const rows: (Rule & { sign: 1 | -1 })[] = [];
      let stored: Rule | null = null;
      if (old) {
        [stored = null] = await this.#live(old, true);
        if (!stored) throw new UpdateConflict("old_entry does not match a current rule (changed meanwhile? reload the list)");
        const cancel = Math.max(1, await this.#balance(stored));
        for (let i = 0; i < cancel; i++) rows.push({ ...stored, sign: -1 });
      }
      if (next) {
        const same = await this.#live(next, false);
        const others = stored && sameTarget(stored, next) ? same.length - 1 : same.length;
        if (others > 0) throw new UpdateConflict("a rule for the same category_code, cc, domain and url already exists");
        const add = Math.max(1, 1 - (await this.#balance(next)));
        for (let i = 0; i < add; i++) rows.push({ ...next, sign: 1 });
      }
      // One insert, one block: the cancellation and the new rule become visible together. Without
      // optimize_on_insert=0 ClickHouse would collapse identical rows within the block itself.
      await this.db.client.insert({
        table: "url_priorities",
        values: rows,
        format: "JSONEachRow",
        clickhouse_settings: { optimize_on_insert: 0 },
      });
    });
  }
}

const stores = new WeakMap<Database, PriorityStore>();

export function priorityStore(db: Database): PriorityStore {
  let s = stores.get(db);
  if (!s) stores.set(db, (s = new PriorityStore(db)));
  return s;
}
