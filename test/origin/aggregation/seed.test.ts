import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../../origin/src/db/clickhouse";
import { migrate } from "../../../origin/src/db/migrations";
import { seedFastpath } from "../../../origin/src/dev/seed-fastpath";
import { repoRoot } from "../../support/origin-process";

// The synthetic fastpath generator: same seed → same rows; and the rows look like OONI's (skewed
// countries and sites, the test mix, flags that make sense together).

const END = new Date("2024-06-01T00:00:00Z");
let dir: string;
let db: Database;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-seed-"));
  db = openDatabase({ kind: "embedded", path: dir, database: "default", queryTimeoutS: 60 });
  await migrate(db);
});

afterAll(async () => {
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function one<T>(query: string): Promise<T> {
  const r = await db.client.query({ query, format: "JSONEachRow" });
  return (await r.json<T>())[0]!;
}

// Every stored column except update_time (the insert time).
const FINGERPRINT = `SELECT count() AS n, groupBitXor(cityHash64(measurement_uid, report_id, input, probe_cc, probe_asn,
  test_name, test_start_time, measurement_start_time, scores, platform, anomaly, confirmed, msm_failure, domain,
  software_name, software_version, test_version, test_runtime, architecture, engine_name, engine_version, blocking_type,
  test_helper_address, test_helper_type, ooni_run_link_id)) AS h FROM fastpath`;

describe("seed-fastpath", () => {
  it("is deterministic: the same seed and end give the same rows, another seed others", async () => {
    const fingerprint = async (seed: number, batchRows: number) => {
      await db.client.command({ query: "TRUNCATE TABLE fastpath" });
      await seedFastpath(db, { rows: 30_000, days: 10, seed, end: END, batchRows });
      return one<{ n: number; h: string }>(FINGERPRINT);
    };
    const a = await fingerprint(5, 30_000);
    expect(a.n).toBe(30_000);
    // batch size does not matter: row k is always the same row
    expect(await fingerprint(5, 7_000)).toEqual(a);
    expect((await fingerprint(6, 30_000)).h).not.toBe(a.h);
  }, 120_000);

  it("produces realistic, consistent rows", async () => {
    await db.client.command({ query: "TRUNCATE TABLE fastpath" });
    await seedFastpath(db, { rows: 200_000, days: 30, seed: 9, end: END });
    const s = await one<Record<string, number>>(`
      SELECT count() AS n, uniqExact(measurement_uid) AS uids,
        min(measurement_start_time) >= toDateTime('2024-05-02 00:00:00', 'UTC') AS after_start,
        max(measurement_start_time) < toDateTime('2024-06-01 00:00:00', 'UTC') AS before_end,
        countIf(test_name = 'web_connectivity') / n AS wc_share,
        countIf(confirmed = 't' AND anomaly = 'f') AS confirmed_without_anomaly,
        countIf((blocking_type != '') != (anomaly = 't' AND test_name = 'web_connectivity')) AS blocking_type_mismatch,
        countIf(test_name = 'web_connectivity' AND (input = '' OR domain = '' OR position(input, domain) = 0)) AS bad_inputs,
        countIf(test_name != 'web_connectivity' AND input != '') AS stray_inputs,
        uniqExact(probe_cc) AS countries,
        countIf(ooni_run_link_id IS NOT NULL) / n AS run_link_share,
        countIf(JSONHas(scores, 'extra', 'test_runtime')) AS with_runtime
      FROM fastpath`);
    expect(s.n).toBe(200_000);
    expect(s.uids).toBe(200_000);
    expect(s.after_start).toBe(1);
    expect(s.before_end).toBe(1);
    expect(s.wc_share).toBeGreaterThan(0.75);
    expect(s.wc_share).toBeLessThan(0.85);
    expect(s.confirmed_without_anomaly).toBe(0);
    expect(s.blocking_type_mismatch).toBe(0);
    expect(s.bad_inputs).toBe(0);
    expect(s.stray_inputs).toBe(0);
    expect(s.countries).toBeGreaterThan(60);
    expect(s.run_link_share).toBeGreaterThan(0.02);
    expect(s.run_link_share).toBeLessThan(0.04);
    expect(s.with_runtime).toBeGreaterThan(0);

    // Skew: the biggest country has far more rows than the median one; a few sites dominate.
    const cc = await one<{ top: number; median: number }>(
      "SELECT max(c) AS top, median(c) AS median FROM (SELECT probe_cc, count() AS c FROM fastpath GROUP BY probe_cc)",
    );
    expect(cc.top / cc.median).toBeGreaterThan(20);
    const sites = await one<{ top10: number }>(
      `SELECT sum(c) / (SELECT countIf(test_name = 'web_connectivity') FROM fastpath) AS top10 FROM (
         SELECT count() AS c FROM fastpath WHERE test_name = 'web_connectivity' GROUP BY domain ORDER BY c DESC LIMIT 10)`,
    );
    expect(sites.top10).toBeGreaterThan(0.15);
    expect(sites.top10).toBeLessThan(0.6);

    // Censorship shows: Iran's anomaly rate is several times Germany's.
    const rate = await one<{ ir: number; de: number }>(
      "SELECT avgIf(anomaly = 't', probe_cc = 'IR') AS ir, avgIf(anomaly = 't', probe_cc = 'DE') AS de FROM fastpath",
    );
    expect(rate.ir / rate.de).toBeGreaterThan(4);
  }, 120_000);
});

describe("npm run cli -- dev seed-fastpath", () => {
  const run = promisify(execFile);
  const cli = (dataDir: string, ...args: string[]) =>
    run(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), "dev", "seed-fastpath", ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: dataDir, LOG_LEVEL: "silent" },
    });

  it("seeds the configured database and reports what it did", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "ooni-edge-seed-cli-"));
    try {
      const { stdout } = await cli(dataDir, "--rows", "5000", "--days", "3", "--seed", "11", "--end", "2024-06-01", "--metadata");
      expect(JSON.parse(stdout)).toMatchObject({ inserted: 5000, seed: 11, days: 3, end: "2024-06-01T00:00:00.000Z" });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);

  it("rejects bad arguments with a message", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "ooni-edge-seed-cli-"));
    try {
      await expect(cli(dataDir, "--rows", "lots")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("--rows must be a positive integer") });
      await expect(cli(dataDir)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("--rows is required") });
      await expect(cli(dataDir, "--rows", "10", "--colour", "red")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("colour") });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
