import { describe, it } from "vitest";
import { openDatabase } from "../../../origin/src/db/clickhouse";
import { runDatabaseContract } from "./contract";

// A ClickHouse server is not installable on the CI machine (no registry serves a current one), so
// the server adapter runs the same contract when CLICKHOUSE_TEST_URL points at a disposable
// database, e.g. CLICKHOUSE_TEST_URL=http://127.0.0.1:8123 CLICKHOUSE_TEST_DATABASE=ooni_test.
const url = process.env.CLICKHOUSE_TEST_URL;
if (url) {
  runDatabaseContract(`ClickHouse server at ${url}`, async () => {
    const db = openDatabase({
      kind: "server",
      url,
      database: process.env.CLICKHOUSE_TEST_DATABASE ?? "default",
      username: process.env.CLICKHOUSE_TEST_USER,
      password: process.env.CLICKHOUSE_TEST_PASSWORD,
      queryTimeoutS: 28,
    });
    return { db, teardown: () => db.close() };
  });
} else {
  describe("database adapter contract: ClickHouse server", () => {
    it.skip("skipped: set CLICKHOUSE_TEST_URL to run the contract against a ClickHouse server", () => {});
  });
}
