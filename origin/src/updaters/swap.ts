import { queryRows, type Database } from "../db/clickhouse";

// The one way an updater replaces a table: fill its staging twin, check the staging table holds
// exactly what was parsed, then EXCHANGE TABLES — one atomic rename of both names, so readers see
// the old rows or the new ones, never a half-loaded table. Any failure before the exchange leaves
// the live table untouched (the staging table is emptied again). After the exchange the staging
// name holds the old rows, which are dropped.
//
// Table names here come from the constants of each updater, never from input; values go through
// parameter binding or the client's insert.

export class UpdateError extends Error {
  override readonly name = "UpdateError";
}

const BATCH_ROWS = 20_000;

export interface ReplaceOptions {
  live: string;
  staging: string;
  /** Refuse when the new row count is below this fraction of the live one (0 = never refuse). */
  minKeepRatio: number;
  /** ReplacingMergeTree collapses rows with equal keys: count with FINAL to compare like with like. */
  final: boolean;
  signal?: AbortSignal;
}

async function countRows(db: Database, table: string, final: boolean): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, `SELECT count() AS n FROM ${table}${final ? " FINAL" : ""}`);
  return Number(row?.n ?? 0);
}

export async function tableRowCount(db: Database, table: string, final = false): Promise<number> {
  return countRows(db, table, final);
}

export interface TableReplacement {
  rows: readonly Record<string, unknown>[];
  opts: ReplaceOptions;
}

async function stage(db: Database, { rows, opts }: TableReplacement): Promise<number> {
  if (rows.length === 0) throw new UpdateError(`refusing to replace ${opts.live} with nothing`);
  const previousRows = await countRows(db, opts.live, opts.final);
  if (opts.minKeepRatio > 0 && previousRows > 0 && rows.length < previousRows * opts.minKeepRatio) {
    throw new UpdateError(
      `refusing to shrink ${opts.live} from ${previousRows} to ${rows.length} rows (below UPDATER_MIN_KEEP_RATIO=${opts.minKeepRatio}); ` +
        "if this is intended, run the update with --force",
    );
  }
  await db.client.command({ query: `TRUNCATE TABLE ${opts.staging}` });
  for (let i = 0; i < rows.length; i += BATCH_ROWS) {
    opts.signal?.throwIfAborted();
    await db.client.insert({ table: opts.staging, values: rows.slice(i, i + BATCH_ROWS), format: "JSONEachRow" });
  }
  const staged = await countRows(db, opts.staging, opts.final);
  if (staged !== rows.length) {
    throw new UpdateError(`${opts.staging} holds ${staged} rows after loading ${rows.length}; not swapping`);
  }
  return previousRows;
}

/**
 * Replaces each live table with its rows. Every table is staged and checked before the first
 * exchange, so a bad input for one table changes none of them; the exchanges then follow each
 * other immediately (and an exchange that fails undoes the ones before it).
 */
export async function replaceTables(db: Database, replacements: readonly TableReplacement[]): Promise<{ rows: number; previousRows: number }[]> {
  const previous: number[] = [];
  const clearStaging = () =>
    Promise.all(replacements.map((r) => db.client.command({ query: `TRUNCATE TABLE ${r.opts.staging}` }).catch(() => {})));
  try {
    for (const r of replacements) previous.push(await stage(db, r));
    for (const r of replacements) r.opts.signal?.throwIfAborted();
  } catch (err) {
    await clearStaging();
    throw err;
  }
  const exchanged: TableReplacement[] = [];
  try {
    for (const r of replacements) {
      await db.client.command({ query: `EXCHANGE TABLES ${r.opts.staging} AND ${r.opts.live}` });
      exchanged.push(r);
    }
  } catch (err) {
    // Put back what was already swapped: the staging names hold the old rows until the truncate below.
    for (const r of exchanged.reverse()) {
      await db.client.command({ query: `EXCHANGE TABLES ${r.opts.staging} AND ${r.opts.live}` }).catch(() => {});
    }
    await clearStaging();
    throw err;
  }
  // The old rows, now under the staging names: dropping them is housekeeping, not part of the update.
  await clearStaging();
  return replacements.map((r, i) => ({ rows: r.rows.length, previousRows: previous[i]! }));
}

/** Replaces `live` with `rows`; returns the new and previous row counts. */
export async function replaceTable(
  db: Database,
  rows: readonly Record<string, unknown>[],
  opts: ReplaceOptions,
): Promise<{ rows: number; previousRows: number }> {
  const [result] = await replaceTables(db, [{ rows, opts }]);
  return result!;
}
