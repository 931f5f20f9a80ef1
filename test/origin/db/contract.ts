import { describe, expect, it, beforeAll, afterAll } from "vitest";
import type { Database } from "../../../origin/src/db/clickhouse";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { appliedVersions, migrate, migrations } from "../../../origin/src/db/migrations";

// What every ClickHouse adapter (embedded chDB, server over HTTP) must do for the rest of the
// origin to work unchanged. Each adapter's test file calls this with a factory.
export function runDatabaseContract(name: string, setup: () => Promise<{ db: Database; teardown: () => Promise<void> }>) {
  describe(`database adapter contract: ${name}`, () => {
    let db: Database;
    let teardown: () => Promise<void>;

    beforeAll(async () => {
      ({ db, teardown } = await setup());
      await migrate(db);
    });
    afterAll(async () => {
      await teardown?.();
    });

    it("answers the health check", async () => {
      await expect(db.check()).resolves.toBeUndefined();
    });

    it("applies migrations once and is idempotent", async () => {
      expect(await migrate(db)).toEqual([]);
      expect(await appliedVersions(db)).toEqual(migrations.map((m) => m.version));
      const tables = await queryRows<{ name: string }>(db, "SELECT name FROM system.tables WHERE database = currentDatabase()");
      const names = new Set(tables.map((t) => t.name));
      for (const t of ["fastpath", "jsonl", "citizenlab", "citizenlab_flip", "url_priorities", "counters_test_list",
        "counters_asn_test_list", "fingerprints_dns", "fingerprints_http", "asnmeta", "accounts", "msmt_feedback",
        "incidents", "oonirun"]) {
        expect(names, t).toContain(t);
      }
    });

    it("binds parameters as values, never as SQL", async () => {
      const nasty = "x'); DROP TABLE fastpath; --";
      const rows = await queryRows<{ v: string; n: number; a: string[] }>(
        db,
        "SELECT {v:String} AS v, {n:UInt32} AS n, {a:Array(String)} AS a",
        { v: nasty, n: 42, a: ["it", "o'brien"] },
      );
      expect(rows).toEqual([{ v: nasty, n: 42, a: ["it", "o'brien"] }]);
      const still = await queryRows<{ c: number }>(db, "SELECT count() AS c FROM system.tables WHERE name = 'fastpath' AND database = currentDatabase()");
      expect(still[0]!.c).toBe(1);
    });

    it("replaces rows with the same key (ReplacingMergeTree + FINAL)", async () => {
      const row = {
        report_id: "r1", input: "https://example.org/", s3path: "raw/x.jsonl.gz", linenum: 0,
        measurement_uid: "20240101000000.000000_IT_webconnectivity_0123456789abcdef", date: "2024-01-01", source: "test",
      };
      await db.client.insert({ table: "jsonl", values: [row], format: "JSONEachRow" });
      await db.client.insert({ table: "jsonl", values: [{ ...row, linenum: 7 }], format: "JSONEachRow" });
      const rows = await queryRows<{ linenum: number }>(db, "SELECT linenum FROM jsonl FINAL WHERE report_id = {r:String}", { r: "r1" });
      expect(rows).toEqual([{ linenum: 7 }]);
    });

    it("swaps tables atomically with EXCHANGE TABLES", async () => {
      await db.client.command({ query: "TRUNCATE TABLE citizenlab_flip" });
      await db.client.insert({
        table: "citizenlab_flip",
        values: [{ domain: "example.org", url: "https://example.org/", cc: "ZZ", category_code: "NEWS" }],
        format: "JSONEachRow",
      });
      const before = await queryRows<{ c: number }>(db, "SELECT count() AS c FROM citizenlab");
      await db.client.command({ query: "EXCHANGE TABLES citizenlab_flip AND citizenlab" });
      const after = await queryRows<{ c: number }>(db, "SELECT count() AS c FROM citizenlab");
      const flip = await queryRows<{ c: number }>(db, "SELECT count() AS c FROM citizenlab_flip");
      expect(after[0]!.c).toBe(1);
      expect(flip[0]!.c).toBe(before[0]!.c);
    });

    it("reports SQL errors as exceptions carrying ClickHouse's code", async () => {
      await expect(queryRows(db, "SELECT no_such_column FROM fastpath")).rejects.toMatchObject({ code: "47" });
    });

    it("enforces max_execution_time as an error, not a hang", async () => {
      const q = db.client.query({
        query: "SELECT count() FROM numbers(10000000000) WHERE sipHash64(number) = 0",
        format: "JSONEachRow",
        clickhouse_settings: { max_execution_time: 1, timeout_before_checking_execution_speed: 0 },
      });
      await expect(q.then((r) => r.json())).rejects.toMatchObject({ code: "159" });
    });
  });
}
