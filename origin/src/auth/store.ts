import { randomBytes } from "node:crypto";
import { queryRows, type Database } from "../db/clickhouse";
import type { Role } from "./tokens";

// Roles and session expunge thresholds, keyed by account id only (never an address). Both tables
// are ReplacingMergeTree(update_time): a change is an insert, and reads take the newest row with
// argMax so they are right before any background merge has happened.

export interface AccountState {
  /** Role from the accounts table, or null when the account has no row. */
  role: Role | null;
  /** Tokens issued (iat) before this unix second are rejected; 0 when never expunged. */
  expungeThreshold: number;
}

export class AccountStore {
  /** Links claimed by this process: a concurrent second exchange here is refused without a race. */
  readonly #claimed = new Map<string, number>();

  constructor(private readonly db: Database) {}

  /**
   * Marks a login link used; true only for the first exchange. ClickHouse has no compare-and-set,
   * so every claim inserts a row and then reads which row came first (by time, then a random
   * nonce): of two hosts racing, the later reader sees the earlier row and loses. Within this
   * process a map settles it before the database is asked. Left open: two hosts whose claims fall
   * in the same millisecond and each read before the other's insert (docs/accounts.md).
   */
  async claimLoginLink(linkId: string, accountId: string, expiresAtS: number, nowMs = Date.now()): Promise<boolean> {
    for (const [id, exp] of this.#claimed) if (exp * 1000 < nowMs) this.#claimed.delete(id);
    if (this.#claimed.has(linkId)) return false;
    this.#claimed.set(linkId, expiresAtS);
    const nonce = randomBytes(12).toString("hex");
    await this.db.client.insert({
      table: "login_links_used",
      values: [{ link_id: linkId, account_id: accountId, used_time: nowMs, nonce, expires_at: expiresAtS }],
      format: "JSONEachRow",
    });
    const first = await queryRows<{ nonce: string }>(
      this.db,
      "SELECT nonce FROM login_links_used WHERE link_id = {id:String} ORDER BY used_time, nonce LIMIT 1",
      { id: linkId },
    );
    return first[0]?.nonce === nonce;
  }

  async state(accountId: string): Promise<AccountState> {
    // argMax over no rows yields the type's default (the first enum value), so count the rows too.
    const rows = await queryRows<{ n: number; role: string; threshold: number }>(
      this.db,
      `SELECT
         (SELECT count() FROM accounts WHERE account_id = {id:FixedString(32)}) AS n,
         (SELECT toString(argMax(role, update_time)) FROM accounts WHERE account_id = {id:FixedString(32)}) AS role,
         (SELECT toUInt32(toUnixTimestamp(argMax(threshold, update_time))) FROM session_expunge
           WHERE account_id = {id:FixedString(32)}) AS threshold`,
      { id: accountId },
    );
    const row = rows[0];
    const role = row && Number(row.n) > 0 && (row.role === "admin" || row.role === "user") ? row.role : null;
    return { role, expungeThreshold: Number(row?.threshold ?? 0) };
  }

  async setRole(accountId: string, role: Role): Promise<void> {
    await this.db.client.insert({ table: "accounts", values: [{ account_id: accountId, role }], format: "JSONEachRow" });
  }

  /**
   * Rejects every token of the account issued until now. The threshold is rounded up to the next
   * second (the column has second precision), so a token issued in this very second is rejected too.
   * It also always moves past the previous threshold: a login right after an expunge is issued with
   * iat = that threshold (a second ahead), and a second expunge within the same second — a demotion
   * right after a promotion, say — must reject that token as well (found by
   * test/security/authz-matrix.test.ts: the demoted admin's token kept working).
   */
  async expunge(accountId: string, nowMs = Date.now()): Promise<number> {
    const { expungeThreshold: previous } = await this.state(accountId);
    const threshold = Math.max(Math.floor(nowMs / 1000) + 1, previous + 1);
    await this.db.client.insert({
      table: "session_expunge",
      values: [{ account_id: accountId, threshold }],
      format: "JSONEachRow",
    });
    return threshold;
  }
}
