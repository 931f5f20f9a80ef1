import { afterAll, beforeAll } from "vitest";
import type { Database } from "../../origin/src/db/clickhouse";
import { openTempDb, tempDir } from "../origin/fastpath-pipeline/helpers";

/**
 * A migrated embedded ClickHouse in a temp directory for one file's (or one describe's) tests:
 * opened before them, closed and removed after. `set` receives it (tests keep their own `db`).
 * Returns the temp directory, for files the tests keep beside the database (removed with it).
 */
export function useTempDb(prefix: string, set: (db: Database) => void): string {
  const tmp = tempDir(prefix);
  let db: Database | undefined;
  beforeAll(async () => {
    db = await openTempDb(tmp.dir);
    set(db);
  });
  afterAll(async () => {
    await db?.close();
    tmp.cleanup();
  });
  return tmp.dir;
}
