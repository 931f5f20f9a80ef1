import { mkdirSync } from "node:fs";
import { open, type Database as Lmdb } from "lmdb";

// Fair-use budgets in seconds of serving time, kept in LMDB so every origin process on a host (or
// sharing QUOTA_DB_DIR) draws from the same budget.
//
// Each key (a client network "n:…" or an account "a:…") holds one 32-byte record:
//   [updated_at_ms, day_s, week_s, month_s] as little-endian float64
// A missing record means "full budget". Buckets refill continuously: on every read the value grows
// by elapsed × limit / period, capped at the limit, so no periodic job has to touch every key (the
// legacy API refilled all keys once an hour in a sweep). A key is over budget while any bucket is
// ≤ 0; a request is charged after it is served, so a bucket can go negative (down to −limit): a long
// request is paid in full, and Retry-After says when the debt is repaid.
//
// Writes use transactionSync with noSync: a read-modify-write under LMDB's cross-process write lock
// costs ~15 µs and is visible to the other processes as soon as the response goes out. Without
// fsync a power loss can lose recent charges (or, rarely, the file): counters, not records; see
// docs/accounts.md for recovery.

export interface Budget {
  daySeconds: number;
  weekSeconds: number;
  monthSeconds: number;
}

export interface QuotaStoreOptions {
  dir: string;
  network: Budget;
  account: Budget;
  /** Wall-clock milliseconds (shared by all processes; tests pass a fake clock). */
  now?: () => number;
}

export interface QuotaEntry {
  key: string;
  day_s: number;
  week_s: number;
  month_s: number;
}

const PERIOD_S = [86_400, 7 * 86_400, 30 * 86_400] as const;
const RECORD_BYTES = 32;

function limitsOf(b: Budget): [number, number, number] {
  return [b.daySeconds, b.weekSeconds, b.monthSeconds];
}

export class QuotaStore {
  readonly #db: Lmdb<Buffer, string>;
  readonly #net: [number, number, number];
  readonly #acct: [number, number, number];
  readonly #now: () => number;
  readonly dir: string;

  constructor(opts: QuotaStoreOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.dir = opts.dir;
    try {
      this.#db = open<Buffer, string>({ path: opts.dir, encoding: "binary", noSync: true });
      this.#db.getBinaryFast("\u0001probe");
    } catch (err) {
      throw new Error(
        `the quota database in ${opts.dir} cannot be opened (${(err as Error).message}); it holds only ` +
          "usage counters: stop every origin using it, delete the directory, and start again",
      );
    }
    this.#net = limitsOf(opts.network);
    this.#acct = limitsOf(opts.account);
    this.#now = opts.now ?? Date.now;
  }

  #limits(key: string): [number, number, number] {
    return key.charCodeAt(0) === 0x61 /* a */ ? this.#acct : this.#net;
  }

  /** The current value of bucket i of a stored record, refilled up to `nowMs`. */
  static #refilled(rec: Buffer, i: number, limit: number, nowMs: number): number {
    const elapsedS = Math.max(0, nowMs - rec.readDoubleLE(0)) / 1000;
    return Math.min(limit, rec.readDoubleLE(8 + i * 8) + (elapsedS * limit) / PERIOD_S[i]!);
  }

  /** Seconds until `key` has budget in every bucket; 0 when it has now. */
  #waitFor(key: string, nowMs: number): number {
    const rec = this.#db.getBinaryFast(key);
    if (!rec || rec.length !== RECORD_BYTES) return 0;
    const limits = this.#limits(key);
    let wait = 0;
    for (let i = 0; i < 3; i++) {
      const limit = limits[i]!;
      if (limit <= 0) continue; // bucket disabled
      const v = QuotaStore.#refilled(rec, i, limit, nowMs);
      if (v <= 0) wait = Math.max(wait, Math.floor((-v * PERIOD_S[i]!) / limit) + 1);
    }
    return wait;
  }

  /** 0 when the network (and the account, if any) may be served now, else Retry-After seconds. */
  retryAfter(networkKey: string, accountKey: string | null): number {
    const now = this.#now();
    const a = this.#waitFor(networkKey, now);
    return accountKey === null ? a : Math.max(a, this.#waitFor(accountKey, now));
  }

  /** Charges `seconds` to the key(s) in one atomic transaction; returns the lowest remaining budget. */
  charge(networkKey: string, accountKey: string | null, seconds: number): number {
    const now = this.#now();
    return this.#db.transactionSync(() => {
      const a = this.#chargeOne(networkKey, seconds, now);
      return accountKey === null ? a : Math.min(a, this.#chargeOne(accountKey, seconds, now));
    });
  }

  #chargeOne(key: string, seconds: number, nowMs: number): number {
    const rec = this.#db.getBinaryFast(key);
    const valid = rec !== undefined && rec.length === RECORD_BYTES;
    const limits = this.#limits(key);
    const out = Buffer.allocUnsafe(RECORD_BYTES);
    out.writeDoubleLE(nowMs, 0);
    let lowest = Infinity;
    for (let i = 0; i < 3; i++) {
      const limit = limits[i]!;
      const before = valid ? QuotaStore.#refilled(rec, i, limit, nowMs) : limit;
      const after = limit <= 0 ? 0 : Math.max(-limit, before - seconds);
      out.writeDoubleLE(after, 8 + i * 8);
      if (limit > 0 && after < lowest) lowest = after;
    }
    this.#db.putSync(key, out);
    return lowest;
  }

  /** Every tracked key with its current budgets, lowest daily budget first. */
  summary(limit: number): { networks: QuotaEntry[]; accounts: QuotaEntry[] } {
    const now = this.#now();
    const networks: QuotaEntry[] = [];
    const accounts: QuotaEntry[] = [];
    for (const { key, value } of this.#db.getRange()) {
      if (typeof key !== "string" || !(value instanceof Uint8Array) || value.length !== RECORD_BYTES) continue;
      const rec = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      const limits = this.#limits(key);
      const [day, week, month] = [0, 1, 2].map((i) => round3(QuotaStore.#refilled(rec, i, limits[i]!, now)));
      const entry = { key: key.slice(2), day_s: day!, week_s: week!, month_s: month! };
      (key.startsWith("a:") ? accounts : networks).push(entry);
    }
    const byDay = (x: QuotaEntry, y: QuotaEntry) => x.day_s - y.day_s || x.key.localeCompare(y.key);
    return { networks: networks.sort(byDay).slice(0, limit), accounts: accounts.sort(byDay).slice(0, limit) };
  }

  /** Drops keys whose budgets have refilled completely (they read as full when absent anyway). */
  sweep(): number {
    const now = this.#now();
    const full: string[] = [];
    for (const { key, value } of this.#db.getRange()) {
      if (typeof key === "string" && this.#isFull(key, value as Buffer, now)) full.push(key);
    }
    if (full.length === 0) return 0;
    return this.#db.transactionSync(() => {
      let removed = 0;
      for (const key of full) {
        // Re-checked inside the write lock: another process may have charged it meanwhile.
        const rec = this.#db.getBinaryFast(key);
        if (rec && this.#isFull(key, rec, now) && this.#db.removeSync(key)) removed++;
      }
      return removed;
    });
  }

  #isFull(key: string, rec: Buffer, now: number): boolean {
    if (!(rec instanceof Uint8Array) || rec.length !== RECORD_BYTES) return true;
    const buf = Buffer.isBuffer(rec) ? rec : Buffer.from(rec);
    const limits = this.#limits(key);
    for (let i = 0; i < 3; i++) if (QuotaStore.#refilled(buf, i, limits[i]!, now) < limits[i]!) return false;
    return true;
  }

  readonly #onClose: (() => void)[] = [];

  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.#onClose.splice(0)) fn();
    await this.#db.close();
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
