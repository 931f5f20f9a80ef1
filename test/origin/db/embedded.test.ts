import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openDatabase } from "../../../origin/src/db/clickhouse";
import { runDatabaseContract } from "./contract";

runDatabaseContract("embedded chDB", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-chdb-"));
  const db = openDatabase({ kind: "embedded", path: dir, database: "default", queryTimeoutS: 28 });
  return {
    db,
    teardown: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
