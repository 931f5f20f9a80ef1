import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildAggregationQuery, type Axis } from "../../origin/src/aggregation/build-query";
import { resolveGrain, type Grain } from "../../origin/src/aggregation/time-grain";
import { loadConfig } from "../../origin/src/config";
import { seedFastpath } from "../../origin/src/dev/seed-fastpath";
import { createLogger } from "../../origin/src/logger";
import { startOrigin } from "../../origin/src/server";
import { asnNumber, parseInstant, splitList } from "../../origin/src/stats/params";
import { readQuery } from "../../origin/src/stats/read-query";

// API latency of typical Explorer aggregation queries next to the same SQL run directly on the
// same database, as a ratio (goal ≤ 1.2). The API side is a real HTTP request to the origin on
// loopback; the direct side is the SQL the API builds for those parameters, through the same
// client. Both alternate, after a warm-up. Printed per query: the median of the per-run ratios
// (each API run against the direct run next to it, which cancels slow drifts in machine load),
// the medians, and the fastest runs (on a busy machine the best estimate of what a query costs).
//
//   node --import tsx bench/aggregation/run.ts [--rows 10000000] [--runs 7] [--days 365] [--data-dir DIR]
//
// --data-dir keeps the seeded database there and reuses it on the next run with the same --rows.

const { values } = parseArgs({
  options: { rows: { type: "string" }, runs: { type: "string" }, days: { type: "string" }, "data-dir": { type: "string" } },
});
const ROWS = Number(values.rows ?? 10_000_000);
const RUNS = Number(values.runs ?? 7);
const DAYS = Number(values.days ?? 365);
const END = new Date("2025-01-01T00:00:00Z");

const QUERIES: { name: string; q: Record<string, string> }[] = [
  { name: "country websites by day (30 d)", q: { test_name: "web_connectivity", probe_cc: "IR", since: "2024-12-01", until: "2024-12-31", axis_x: "measurement_start_day" } },
  { name: "domain by day × country (90 d)", q: { domain: "twitter.com", since: "2024-10-01", until: "2024-12-31", axis_x: "measurement_start_day", axis_y: "probe_cc" } },
  { name: "country by category (join)", q: { probe_cc: "RU", test_name: "web_connectivity", axis_x: "category_code" } },
  { name: "all countries, all time", q: { axis_x: "probe_cc" } },
  { name: "IM apps by week × test (1 y)", q: { test_name: "signal,telegram,whatsapp,facebook_messenger", since: "2024-01-01", until: "2024-12-31", axis_x: "measurement_start_day", axis_y: "test_name", time_grain: "week" } },
  { name: "blocking type × country (7 d)", q: { test_name: "web_connectivity", since: "2024-12-24", until: "2024-12-31", axis_x: "blocking_type", axis_y: "probe_cc" } },
  { name: "country by day, CSV (30 d)", q: { probe_cc: "CN", since: "2024-12-01", until: "2024-12-31", axis_x: "measurement_start_day", format: "CSV" } },
];

/** The SQL and parameters the API builds for these query parameters. */
function sqlFor(q: Record<string, string>) {
  const since = q.since ? parseInstant(q.since) : null;
  const until = q.until ? parseInstant(q.until) : null;
  const axes = [q.axis_x, q.axis_y].filter(Boolean) as Axis[];
  let grain: Grain | null = null;
  if (axes.includes("measurement_start_day")) {
    const r = resolveGrain((q.time_grain ?? "auto") as Grain | "auto", since!, until!);
    if ("error" in r) throw new Error(r.error);
    grain = r.grain;
  }
  return buildAggregationQuery({
    axes,
    grain,
    filters: {
      probeCc: splitList(q.probe_cc),
      probeAsn: splitList(q.probe_asn).map(asnNumber),
      testName: splitList(q.test_name),
      domain: splitList(q.domain),
      input: q.input ?? null,
      categoryCode: splitList(q.category_code),
      runLinkIds: splitList(q.ooni_run_link_id),
      since,
      until,
    },
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main() {
  const keep = values["data-dir"];
  const dataDir = keep ? path.resolve(keep) : mkdtempSync(path.join(tmpdir(), "ooni-edge-bench-agg-"));
  const config = loadConfig({ DATA_DIR: dataDir, ORIGIN_PORT: "0", LOG_LEVEL: "silent" });
  const origin = await startOrigin(config, createLogger("silent"));
  try {
    const db = origin.services.db;
    const have = (await readQuery<{ n: number }>(db, "SELECT count() AS n FROM fastpath", {}, 60)).rows[0]!.n;
    if (have !== ROWS) {
      await db.client.command({ query: "TRUNCATE TABLE fastpath" });
      await db.client.command({ query: "TRUNCATE TABLE citizenlab" });
      await db.client.command({ query: "TRUNCATE TABLE asnmeta" });
      const t0 = performance.now();
      await seedFastpath(db, {
        rows: ROWS,
        days: DAYS,
        seed: 1,
        end: END,
        metadata: true,
        onProgress: (n) => process.stderr.write(`\rseeding ${n.toLocaleString("en")} / ${ROWS.toLocaleString("en")}`),
      });
      const seedS = (performance.now() - t0) / 1000;
      process.stderr.write("\n");
      console.log(`seeded ${ROWS.toLocaleString("en")} rows over ${DAYS} days in ${seedS.toFixed(1)} s (${Math.round(ROWS / seedS).toLocaleString("en")} rows/s)`);
    } else {
      console.log(`reusing ${ROWS.toLocaleString("en")} rows in ${dataDir}`);
    }
    // Let background merges of the fresh parts settle so both sides see the same table.
    await db.client.command({ query: "OPTIMIZE TABLE fastpath FINAL", clickhouse_settings: { max_execution_time: 3600 } });

    const results: {
      name: string;
      paired: number;
      api: number;
      direct: number;
      ratio: number;
      apiMin: number;
      directMin: number;
      ratioMin: number;
      rows: number;
    }[] = [];
    for (const { name, q } of QUERIES) {
      const url = `${origin.url}/api/v1/aggregation?${new URLSearchParams(q)}`;
      const { sql, params } = sqlFor(q);
      const api = async () => {
        const t = performance.now();
        const res = await fetch(url);
        const body = await res.text();
        if (res.status !== 200) throw new Error(`${name}: ${res.status} ${body}`);
        return performance.now() - t;
      };
      let rows = 0;
      const direct = async () => {
        const t = performance.now();
        rows = (await readQuery(db, sql, params, config.explorer.queryTimeoutS)).rows.length;
        return performance.now() - t;
      };
      await api();
      await direct();
      const a: number[] = [];
      const d: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        // alternate which goes first so drift affects both alike
        if (i % 2) {
          a.push(await api());
          d.push(await direct());
        } else {
          d.push(await direct());
          a.push(await api());
        }
      }
      const r = {
        name,
        paired: median(a.map((x, i) => x / d[i]!)),
        api: median(a),
        direct: median(d),
        ratio: median(a) / median(d),
        apiMin: Math.min(...a),
        directMin: Math.min(...d),
        ratioMin: Math.min(...a) / Math.min(...d),
        rows,
      };
      results.push(r);
      const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
      console.log(
        `${name.padEnd(32)} paired ratio ${r.paired.toFixed(2)} | median api ${ms(r.api)} direct ${ms(r.direct)} ratio ${r.ratio.toFixed(2)} | ` +
          `fastest api ${ms(r.apiMin)} direct ${ms(r.directMin)} ratio ${r.ratioMin.toFixed(2)} | ${rows} rows`,
      );
    }
    const worst = (k: "paired" | "ratio" | "ratioMin") => Math.max(...results.map((r) => r[k])).toFixed(2);
    console.log(
      `\n${RUNS} runs each; worst ratio: paired ${worst("paired")}, medians ${worst("ratio")}, fastest runs ${worst("ratioMin")} (goal ≤ 1.2)`,
    );
    console.log(JSON.stringify({ rows: ROWS, runs: RUNS, results }));
  } finally {
    await origin.close();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
