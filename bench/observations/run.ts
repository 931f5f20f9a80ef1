import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { queryRows } from "../../origin/src/db/clickhouse";
import { dayWindows, runWebAnalysis } from "../../origin/src/analysis/store";
import { startFastpath } from "../../origin/src/fastpath/pipeline";
import { Spool } from "../../origin/src/intake/spool";
import { createLogger } from "../../origin/src/logger";
import { observe, OBSERVED_TESTS, type MeasurementObservations } from "../../origin/src/observations";
import { ObservationWriter } from "../../origin/src/observations/writer";
import { LiveAnalysis } from "../../origin/src/analysis/live";
import { corpusAvailable, corpusPath } from "../../test/support/corpus";
import { fixturesOf } from "../../test/support/nettest-fixtures";
import { openTempDb, pipelineConfig, spoolMeasurement, tempDir } from "../../test/origin/fastpath-pipeline/helpers";
import { benchUpstream, prepareUpstream, unavailable, type HarnessItem } from "../../test/support/upstream-pipeline";

// OONI Pipeline v5 speed (docs/observations.md). Every figure is measurements per CPU-second —
// per core — on the same web_connectivity measurements in the same run:
//  ours      transform            measurement → obs_web/obs_web_ctrl rows (TypeScript, this thread)
//  ours      + analysis           … and its analysis_web_measurement row, in-process (analysis/live.ts)
//  ours      + analysis + INSERT  … and all three written to embedded ClickHouse: the live writer
//                                 (observations/writer.ts); chDB runs in this process, its CPU counts
//  upstream  transformer          ooni/data oonipipeline, Python, unchanged from the snapshot
//  upstream  analysis             its write_analysis_web_fuzzy_logic on chdb over the stored
//                                 observations (CPU of that process, chdb included; inserting the
//                                 observations is not counted: upstream's side is favoured there)
//  upstream  transformer+analysis both stages one after the other on one core: 1/(1/T + 1/A)
//  upstream  … + INSERT           plus storing the observation rows in chdb first (JSONEachRow, as
//                                 the harness does; upstream's pipeline writes to a ClickHouse server)
// Then the SQL rebuild of the same day (`analysis reprocess`), and the latency the pipeline adds:
// a measurement written to the spool → its analysis row visible (the live fastpath, 500 ms flush).
// Measurements: the 50 web_connectivity 0.5 QA scenarios shipped with the snapshot plus the
// corpus's web_connectivity measurements (older formats), looped, all stamped with one day (live
// traffic is today's).
//
// Also the other tests upstream observes (transform only, their real measurements), ours and
// upstream's in this run.
//
//   node --import tsx bench/observations/run.ts [--seconds 5] [--batch 500] [--insert 5000] [--latency 30] [--transform-only]
// (--transform-only: the transforms alone, no ClickHouse.)

const { values } = parseArgs({
  options: { seconds: { type: "string" }, batch: { type: "string" }, insert: { type: "string" }, latency: { type: "string" }, "transform-only": { type: "boolean" } },
});
const SECONDS = Number(values.seconds ?? 5);
const BATCH = Number(values.batch ?? 500);
const INSERT_N = Number(values.insert ?? 5000);
const LATENCY_N = Number(values.latency ?? 30);
const DAY_START = "2024-02-12 20:33:47";

const items: HarnessItem[] = [];
let up: ReturnType<typeof prepareUpstream> | null = null;
if (unavailable) console.log(`upstream baseline skipped: ${unavailable}`);
else {
  up = prepareUpstream();
  const qa = path.join(up.sourceDir, "oonipipeline/tests/data/wc05_qa");
  for (const f of readdirSync(qa).sort()) items.push({ uid: "", bucket_date: "2024-02-12", measurement: JSON.parse(readFileSync(path.join(qa, f), "utf8")) });
}
if (corpusAvailable) {
  for (const f of ["bug_351.json", "requests_none.json", "web_connectivity_b64_hdr.json", "web_connectivity_ir_fp.json", "web_connectivity_no_body.json", "web_connectivity_null.json"]) {
    items.push({ uid: "", bucket_date: "2024-01-01", measurement: JSON.parse(readFileSync(corpusPath("measurements", f), "utf8")) });
  }
}
if (items.length === 0) {
  console.log("no measurements (neither the snapshot nor the corpus): nothing to measure");
  process.exit(0);
}
items.forEach((it, i) => {
  it.uid = `20240212203347.${String(i).padStart(6, "0")}_XX_webconnectivity_${i.toString(16).padStart(16, "0")}`;
  it.measurement = { ...it.measurement, measurement_start_time: DAY_START };
});
console.log(`measurements: ${items.length} web_connectivity (looped), one day`);

const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
};
const fmt = (r: number) => `${Math.round(r).toLocaleString("en")}/s`;

function oursPass(loop: number): MeasurementObservations[] {
  const out: MeasurementObservations[] = [];
  items.forEach((it, i) => {
    const r = observe(it.measurement, `${it.uid.slice(0, 15)}${String((loop * items.length + i) % 1e6).padStart(6, "0")}${it.uid.slice(21)}`);
    if (r.kind === "ok") out.push(r.observations);
  });
  return out;
}

/** Runs `step` (one pass over the items) for SECONDS of CPU after a warm-up: measurements per CPU-second. */
async function perCpuSecond(step: (loop: number) => Promise<number> | number): Promise<number> {
  for (let i = 0; i < 20; i++) await step(i);
  let n = 0;
  let loop = 20;
  const c0 = process.cpuUsage();
  while (cpuSeconds(c0) < SECONDS) n += await step(loop++);
  return n / cpuSeconds(c0);
}

// The other tests upstream observes: their real measurements (the corpus's and the snapshots'
// fixtures, test/support/nettest-fixtures.ts), transform only, ours and upstream's.
{
  const others: HarnessItem[] = fixturesOf(new Set([...OBSERVED_TESTS].filter((t) => t !== "web_connectivity")))
    .fixtures.map((f, i) => ({ uid: `20240101000000.${String(i).padStart(6, "0")}_XX_other_${i.toString(16).padStart(16, "0")}`, bucket_date: "2024-01-01", measurement: f.measurement }))
    .filter((it) => observe(it.measurement, it.uid).kind === "ok");
  if (others.length > 0) {
    const ours = await perCpuSecond(() => {
      for (const it of others) observe(it.measurement, it.uid);
      return others.length;
    });
    const tests = new Set(others.map((it) => it.measurement.test_name)).size;
    let line = `other tests (${others.length} measurements of ${tests} tests), transform: ours ${fmt(ours)}`;
    if (up) {
      const u = benchUpstream(up, others, Math.max(1, Math.round((SECONDS * 60) / others.length)));
      const upRate = u.measurements / u.seconds;
      line += `, upstream ${fmt(upRate)}, ratio ${(ours / upRate).toFixed(1)}×`;
    }
    console.log(line);
  }
}
if (values["transform-only"]) {
  const transform = await perCpuSecond((loop) => oursPass(loop).length);
  console.log(`web_connectivity, transform: ours ${fmt(transform)}`);
  process.exit(0);
}

const tmp = tempDir("bench-observations");
const db = await openTempDb(tmp.dir);
const rows: [string, string, number][] = [];
try {
  // Ours, transform only.
  const transform = await perCpuSecond((loop) => oursPass(loop).length);
  rows.push(["ours", "transform (TypeScript)", transform]);

  // Ours, transform + analysis in-process (ground truth and fingerprints loaded once, as live).
  const live = new LiveAnalysis(db);
  let pending: MeasurementObservations[] = [];
  const analysed = await perCpuSecond(async (loop) => {
    pending.push(...oursPass(loop));
    if (pending.length < BATCH) return 0;
    const batch = pending;
    pending = [];
    const r = await live.analyse(batch);
    r.commit();
    return r.rows.length;
  });
  rows.push(["ours", "transform + analysis, in-process", analysed]);

  // Ours, the live writer: transform + analysis + INSERT of obs_web, obs_web_ctrl, analysis rows.
  const writer = new ObservationWriter(db, null);
  let done = 0;
  let loop = 1;
  pending = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (done < INSERT_N) {
    pending.push(...oursPass(loop++));
    if (pending.length < BATCH && done + pending.length < INSERT_N) continue;
    await writer.write(pending);
    done += pending.length;
    pending = [];
  }
  const cpu = cpuSeconds(c0);
  const wall = (performance.now() - t0) / 1000;
  const [stored] = await queryRows<{ n: string }>(db, "SELECT count() AS n FROM analysis_web_measurement FINAL");
  rows.push(["ours", `transform + analysis + INSERT (embedded chDB, batches of ${BATCH})`, done / cpu]);
  const notes = [
    `INSERT run: ${done.toLocaleString("en")} measurements, ${Number(stored!.n).toLocaleString("en")} analysis rows stored, ${fmt(done / wall)} wall (${(cpu / wall).toFixed(1)} cores busy; the machine is shared)`,
  ];

  let combined: number | null = null;
  if (up) {
    const passes = Math.max(1, Math.round((SECONDS * 150) / items.length)); // ~ SECONDS of Python at ~150/s
    const u = benchUpstream(up, items, passes, Math.max(1, Math.round(2000 / items.length)));
    const t = u.measurements / u.cpu_seconds;
    const a = u.analysis_measurements! / u.analysis_cpu_seconds!;
    combined = 1 / (1 / t + 1 / a);
    const ins = u.analysis_measurements! / u.insert_cpu_seconds!;
    const withInsert = 1 / (1 / t + 1 / ins + 1 / a);
    rows.push([`upstream ${up.commit.slice(0, 7)}`, "transformer (Python)", t]);
    rows.push([`upstream ${up.commit.slice(0, 7)}`, `analysis (SQL on chdb, ${u.analysis_measurements!.toLocaleString("en")} measurements)`, a]);
    rows.push([`upstream ${up.commit.slice(0, 7)}`, "transformer + analysis, one core", combined]);
    rows.push([`upstream ${up.commit.slice(0, 7)}`, "transformer + INSERT (JSONEachRow into chdb) + analysis", withInsert]);
    notes.push(
      `ratios: ours transform + analysis / upstream transformer + analysis ${(analysed / combined).toFixed(1)}× (goal ≥ 10×); ` +
        `ours + INSERT / upstream + INSERT ${(done / cpu / withInsert).toFixed(1)}×; ours + INSERT / upstream transformer + analysis ${(done / cpu / combined).toFixed(1)}×; ` +
        `transform alone ${(transform / t).toFixed(1)}×`,
    );
  }
  console.log("\nmeasurements per CPU-second (one core):");
  for (const [who, what, r] of rows) console.log(`  ${who.padEnd(17)} ${what.padEnd(62)} ${fmt(r).padStart(9)}`);
  for (const n of notes) console.log(n);

  // The batch-mode rebuild of the same rows (analysis reprocess, SQL), for comparison.
  const t = performance.now();
  for (const w of dayWindows([`${DAY_START}.000`])) await runWebAnalysis(db, { since: w.since, until: w.until });
  console.log(`analysis reprocess (SQL) of that day, ${done.toLocaleString("en")} measurements: ${((performance.now() - t) / 1000).toFixed(1)} s wall`);
} finally {
  await db.close();
}

// 3. Latency intake → analysis row, through the live fastpath (spool → scoring threads → rows).
const db2 = await openTempDb(tmp.dir + "-live");
try {
  const spool = await Spool.open(path.join(tmp.dir, "spool"));
  const fp = startFastpath({ config: pipelineConfig({ workers: 1, flushMs: 500, batchRows: 1000 }), db: db2, spool, log: createLogger("error") });
  const lat: number[] = [];
  try {
    const now = new Date().toISOString().slice(0, 19).replace("T", " ");
    for (let i = 0; i < LATENCY_N; i++) {
      const m = { ...items[i % items.length]!.measurement, measurement_start_time: now, test_start_time: now };
      const sent = performance.now();
      const uid = await spoolMeasurement(spool, m);
      for (;;) {
        const r = await queryRows<{ n: string }>(db2, "SELECT count() AS n FROM analysis_web_measurement WHERE measurement_uid = {u:String}", { u: uid });
        if (Number(r[0]!.n) > 0) break;
        if (performance.now() - sent > 30_000) throw new Error(`no analysis row for ${uid} after 30 s`);
        await new Promise((res) => setTimeout(res, 20));
      }
      lat.push(performance.now() - sent);
    }
  } finally {
    await fp.stop();
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!);
  console.log(`latency spool write → analysis row (${lat.length} measurements one at a time, flush 500 ms): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms`);
} finally {
  await db2.close();
  tmp.cleanup();
}
