import type { Database } from "../db/clickhouse";
import { queryRows } from "../db/clickhouse";
import { readCitizenlabDir, type CitizenlabRow, type RowProblem } from "./citizenlab-files";

// Replacing the test list is atomic for readers: fill citizenlab_flip, then EXCHANGE TABLES swaps
// the two names in one step, so a check-in sees the old list or the new one, never a half-loaded
// table. The old rows end up in citizenlab_flip and are dropped.

const BATCH = 10_000;

export async function replaceCitizenlab(db: Database, rows: CitizenlabRow[]): Promise<void> {
  if (rows.length === 0) throw new Error("refusing to replace the test list with an empty one");
  await db.client.command({ query: "TRUNCATE TABLE IF EXISTS citizenlab_flip" });
  for (let i = 0; i < rows.length; i += BATCH) {
    await db.client.insert({ table: "citizenlab_flip", values: rows.slice(i, i + BATCH), format: "JSONEachRow" });
  }
  await db.client.command({ query: "EXCHANGE TABLES citizenlab_flip AND citizenlab" });
  await db.client.command({ query: "TRUNCATE TABLE IF EXISTS citizenlab_flip" });
}

export interface LoadResult {
  rows: number;
  countries: number;
  files: string[];
  problems: RowProblem[];
}

export async function loadCitizenlabDir(db: Database, dir: string): Promise<LoadResult> {
  const { rows, problems, files } = await readCitizenlabDir(dir);
  await replaceCitizenlab(db, rows);
  const countries = new Set(rows.filter((r) => r.cc !== "ZZ").map((r) => r.cc)).size;
  return { rows: rows.length, countries, files, problems };
}

export async function citizenlabRowCount(db: Database): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, "SELECT count() AS n FROM citizenlab");
  return Number(row?.n ?? 0);
}

/**
 * On start: a fresh database gets a small test list so check-in works at once. Never touches a
 * table that already has rows (an operator's `testlists load` wins).
 */
export async function bootstrapCitizenlab(
  db: Database,
  dir: string,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
): Promise<LoadResult | null> {
  if ((await citizenlabRowCount(db)) > 0) return null;
  const result = await loadCitizenlabDir(db, dir);
  log.warn(
    { dir, rows: result.rows, countries: result.countries },
    "citizenlab table was empty: loaded the bootstrap test list (load the real CitizenLab lists with `npm run cli -- testlists load DIR`)",
  );
  return result;
}
