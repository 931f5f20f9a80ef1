import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { queryRows } from "../../origin/src/db/clickhouse";
import { loadFingerprintDir } from "../../origin/src/fastpath/fingerprints";
import { parseMeasurementText } from "../../origin/src/fastpath/normalize";
import { startFastpath } from "../../origin/src/fastpath/pipeline";
import { ScoringPool } from "../../origin/src/fastpath/pipeline/pool";
import { scoreItem, type ScoreItem } from "../../origin/src/fastpath/pipeline/score-item";
import { FastpathStore } from "../../origin/src/fastpath/pipeline/store";
import { scoreMeasurement } from "../../origin/src/fastpath/score";
import { makeMeasurementUid } from "../../origin/src/intake/measurement-uid";
import { envelopeAroundMeasurementText } from "../../origin/src/intake/post-file";
import { Spool } from "../../origin/src/intake/spool";
import { createLogger } from "../../origin/src/logger";
import { corpusAvailable, corpusDir, corpusPath } from "../../test/support/corpus";
import { openTempDb, pipelineConfig, tempDir } from "../../test/origin/fastpath-pipeline/helpers";

// Fastpath throughput on the real-measurement corpus (looped):
//  1. measurements scored per second on one core — from the spool file's bytes to the finished row
//     (JSON parse + scoring + row), and scoring alone on already-parsed measurements;
//  2. the same through the scoring threads (one per core);
//  3. end to end, spool files → rows in ClickHouse (embedded chDB): rows per second;
//  4. peak memory (RSS of this process, threads included).
// No baseline is run here: the upstream Python fastpath is not available offline, so the figures
// are ours alone, for a side-by-side run elsewhere.
//
//   node --import tsx bench/fastpath/run.ts [--seconds 5] [--rows 20000] [--threads N]

const { values } = parseArgs({ options: { seconds: { type: "string" }, rows: { type: "string" }, threads: { type: "string" } } });
const SECONDS = Number(values.seconds ?? 5);
const ROWS = Number(values.rows ?? 20_000);
const THREADS = Number(values.threads ?? availableParallelism());

function mb(bytes: number) {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function peakRss(): string {
  return mb(process.resourceUsage().maxRSS * 1024);
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString("en")}/s`;
}

if (!corpusAvailable) {
  console.log(`corpus not found at ${corpusDir} (set OONI_CORPUS_DIR): nothing to measure`);
  process.exit(0);
}

// The corpus as spool files would hold it: each measurement in a submission envelope, dated now
// (so the date rules do not fail it) and named by a fresh uid.
const files = readdirSync(corpusPath("measurements")).filter((f) => /\.(json|yaml)$/.test(f) && f !== "expectations.json");
const measurements: Record<string, unknown>[] = [];
for (const f of files) {
  for (const m of parseMeasurementText(readFileSync(corpusPath("measurements", f), "utf8"))) {
    if (m && typeof m === "object" && !Array.isArray(m)) measurements.push(m as Record<string, unknown>);
  }
}
const fingerprints = await loadFingerprintDir(corpusPath("fingerprints"));
const now = new Date();
const stamp = now.toISOString().slice(0, 19).replace("T", " ");
const items: ScoreItem[] = measurements.map((m, i) => {
  const msm = { ...m, measurement_start_time: stamp };
  const data = envelopeAroundMeasurementText(JSON.stringify(msm), `bench-report-${i}`);
  return { kind: "post", uid: makeMeasurementUid("IT", String(m.test_name ?? "x").replace(/_/g, ""), data), data };
});
const bytes = items.reduce((n, it) => n + (it.kind === "post" ? it.data.length : 0), 0);
const tests = new Map<string, number>();
for (const m of measurements) tests.set(String(m.test_name), (tests.get(String(m.test_name)) ?? 0) + 1);
console.log(`corpus: ${measurements.length} measurements (${mb(bytes)} as spool files), ${tests.size} tests, looped`);
console.log(`fingerprints: ${fingerprints.dns.length} DNS, ${fingerprints.http.length} HTTP`);

// 1. One core.
function loop(fn: (i: number) => void): { n: number; ms: number } {
  for (let i = 0; i < items.length * 3; i++) fn(i % items.length); // warm-up
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    for (let i = 0; i < items.length; i++) fn(i);
    n += items.length;
  }
  return { n, ms: performance.now() - t0 };
}
const full = loop((i) => {
  const r = scoreItem(items[i]!, fingerprints);
  if (!r.ok) throw new Error(r.error);
});
const mbps = ((full.n / items.length) * bytes) / 1024 / 1024 / (full.ms / 1000);
console.log(
  `1 core, bytes → row (parse + score + row): ${rate(full.n, full.ms)} msm, ${mbps.toFixed(1)} MB/s  ` +
    `(${full.n.toLocaleString("en")} in ${(full.ms / 1000).toFixed(1)} s)`,
);
const only = loop((i) => {
  scoreMeasurement(measurements[i]!, { fingerprints });
});
console.log(`1 core, scoring alone (parsed measurements): ${rate(only.n, only.ms)}`);

// 2. Scoring threads.
{
  const pool = new ScoringPool(THREADS);
  pool.setFingerprints({ dns: [...fingerprints.dns], http: [...fingerprints.http], semantics: "fastpath", version: "" });
  await pool.score(items.slice(0, 1)); // start the threads
  const CHUNK = 32;
  const t0 = performance.now();
  let n = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (performance.now() - t0 < SECONDS * 1000) {
    for (let i = 0; i < items.length; i += CHUNK) {
      while (inFlight.size >= pool.capacity) await Promise.race(inFlight);
      const p: Promise<unknown> = pool.score(items.slice(i, i + CHUNK)).finally(() => inFlight.delete(p));
      inFlight.add(p);
      n += Math.min(CHUNK, items.length - i);
    }
  }
  await Promise.all(inFlight);
  const ms = performance.now() - t0;
  console.log(`${THREADS} scoring threads (main thread feeding): ${rate(n, ms)} = ${rate(n / THREADS, ms)} per thread`);
  await pool.close();
}

// 3. Spool → ClickHouse.
{
  const tmp = tempDir("bench");
  const log = createLogger("silent");
  const db = await openTempDb(tmp.dir);
  try {
    const store = new FastpathStore(db);
    await store.replaceFingerprints({ dns: [...fingerprints.dns], http: [...fingerprints.http] });
    const spool = await Spool.open(path.join(tmp.dir, "spool"));
    const t0 = performance.now();
    const WRITERS = 32;
    let next = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let i = next++; i < ROWS; i = next++) {
          const it = items[i % items.length]! as Extract<ScoreItem, { kind: "post" }>;
          const data = Buffer.concat([it.data.subarray(0, -1), Buffer.from(`,"n":${i}}`)]);
          await spool.write(makeMeasurementUid("IT", "bench", data), data);
        }
      }),
    );
    const writeMs = performance.now() - t0;
    console.log(`spool: ${ROWS.toLocaleString("en")} files written (fsynced) in ${(writeMs / 1000).toFixed(1)} s (${rate(ROWS, writeMs)}; the intake's cost, not the fastpath's)`);
    const workers = Math.max(1, availableParallelism() - 1);
    const t1 = performance.now();
    const fp = startFastpath({ config: pipelineConfig({ workers, batchRows: 1000, flushMs: 500 }), db, spool, log });
    while (fp.stats().inserted < ROWS) await new Promise((r) => setTimeout(r, 20));
    const e2eMs = performance.now() - t1;
    await fp.stop();
    const [c] = await queryRows<{ n: number }>(db, "SELECT count() AS n FROM fastpath FINAL");
    console.log(
      `spool → ClickHouse (scan at start, ${workers} scoring thread${workers > 1 ? "s" : ""}, batches of 1000): ` +
        `${rate(ROWS, e2eMs)} (${Number(c!.n).toLocaleString("en")} rows in ${(e2eMs / 1000).toFixed(1)} s)`,
    );
  } finally {
    await db.close();
    tmp.cleanup();
  }
}

console.log(`peak memory (RSS, all threads): ${peakRss()}`);
