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
import { corpusAvailable, corpusPath } from "../../test/support/corpus";
import { fixturesOf } from "../../test/support/nettest-fixtures";
import { openTempDb, pipelineConfig, spoolMeasurement, tempDir } from "../../test/origin/fastpath-pipeline/helpers";
import { benchUpstream, prepareUpstream, unavailable, type HarnessItem } from "../../test/support/upstream-pipeline";

// OONI Pipeline v5 speed (docs/observations.md):
//  1. web_connectivity measurements → observation rows per second on one core: ours (TypeScript),
//     and upstream's transformer (ooni/data oonipipeline, Python, unchanged from the snapshot) on
//     the same measurements in the same run — the baseline the ratio is against;
//  1b. the same for the other tests upstream observes, on their real measurements;
//  2. ours through observation *and* analysis: rows written to embedded ClickHouse and the web
//     analysis run per batch, per CPU-second of this process (chDB runs in it);
//  3. the latency the pipeline adds: a measurement written to the spool → its analysis row
//     visible in ClickHouse (the live fastpath with its default 500 ms flush).
// Measurements: the 50 web_connectivity 0.5 QA scenarios shipped with the snapshot plus the
// corpus's web_connectivity measurements (older formats), looped.
//
//   node --import tsx bench/observations/run.ts [--seconds 5] [--batch 500] [--latency 30] [--transform-only]
// (--transform-only: parts 1 and 1b, no ClickHouse.)

const { values } = parseArgs({
  options: { seconds: { type: "string" }, batch: { type: "string" }, latency: { type: "string" }, "transform-only": { type: "boolean" } },
});
const SECONDS = Number(values.seconds ?? 5);
const BATCH = Number(values.batch ?? 500);
const LATENCY_N = Number(values.latency ?? 30);

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
items.forEach((it, i) => (it.uid = `20240212203347.${String(i).padStart(6, "0")}_XX_webconnectivity_${i.toString(16).padStart(16, "0")}`));
console.log(`measurements: ${items.length} web_connectivity (looped)`);

const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString("en")}/s`;

// 1. Observations, ours, one core (this thread).
function oursPass(loop: number): MeasurementObservations[] {
  const out: MeasurementObservations[] = [];
  items.forEach((it, i) => {
    const r = observe(it.measurement, `${it.uid.slice(0, 15)}${String(loop * items.length + i).padStart(6, "0")}${it.uid.slice(21)}`);
    if (r.kind === "ok") out.push(r.observations);
  });
  return out;
}
for (let i = 0; i < 30; i++) oursPass(0); // warm-up (JIT)
let n = 0;
let t0 = performance.now();
while (performance.now() - t0 < SECONDS * 1000) {
  oursPass(0);
  n += items.length;
}
const oursS = (performance.now() - t0) / 1000;
const oursRate = n / oursS;
console.log(`observations, ours (TypeScript, 1 core): ${rate(n, oursS)}`);

if (up) {
  const passes = Math.max(1, Math.round((SECONDS * 150) / items.length)); // ~ SECONDS of Python at ~150/s
  const u = benchUpstream(up, items, passes);
  const upRate = u.measurements / u.seconds;
  console.log(`observations, upstream (oonipipeline ${up.commit.slice(0, 7)}, Python, 1 core): ${rate(u.measurements, u.seconds)}`);
  console.log(`ratio ours / upstream: ${(oursRate / upRate).toFixed(1)}×`);
}

// 1b. The same for the other tests upstream observes (their real measurements: the corpus's and
// the snapshots' fixtures, test/support/nettest-fixtures.ts), ours and upstream's in this run.
{
  const others: HarnessItem[] = fixturesOf(new Set([...OBSERVED_TESTS].filter((t) => t !== "web_connectivity")))
    .fixtures.map((f, i) => ({ uid: `20240101000000.${String(i).padStart(6, "0")}_XX_other_${i.toString(16).padStart(16, "0")}`, bucket_date: "2024-01-01", measurement: f.measurement }))
    .filter((it) => observe(it.measurement, it.uid).kind === "ok");
  if (others.length > 0) {
    for (let i = 0; i < 30; i++) for (const it of others) observe(it.measurement, it.uid);
    let m = 0;
    const t = performance.now();
    while (performance.now() - t < SECONDS * 1000) {
      for (const it of others) observe(it.measurement, it.uid);
      m += others.length;
    }
    const s = (performance.now() - t) / 1000;
    const tests = new Set(others.map((it) => it.measurement.test_name)).size;
    console.log(`other tests (${others.length} measurements of ${tests} tests), ours: ${rate(m, s)}`);
    if (up) {
      const u = benchUpstream(up, others, Math.max(1, Math.round((SECONDS * 60) / others.length)));
      console.log(`other tests, upstream: ${rate(u.measurements, u.seconds)}; ratio ${(m / s / (u.measurements / u.seconds)).toFixed(1)}×`);
    }
  }
}

if (values["transform-only"]) process.exit(0);

// 2. Observation + analysis into embedded ClickHouse, per CPU-second of this process. Live traffic
// is measured today: every measurement is stamped with one day here (the live writer runs one
// analysis statement per day present in a batch, and the corpus spans 2017–2024).
for (const it of items) it.measurement = { ...it.measurement, measurement_start_time: "2024-02-12 20:33:47" };
const tmp = tempDir("bench-observations");
const db = await openTempDb(tmp.dir);
try {
  const writer = new ObservationWriter(db, null);
  const total = Math.max(BATCH * 4, 2000);
  let done = 0;
  let loop = 1;
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  let pending: MeasurementObservations[] = [];
  while (done < total) {
    pending.push(...oursPass(loop++));
    while (pending.length >= BATCH || (done + pending.length >= total && pending.length > 0)) {
      const batch = pending.slice(0, BATCH);
      pending = pending.slice(BATCH);
      await writer.write(batch);
      done += batch.length;
      if (done >= total) break;
    }
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const [rows] = await queryRows<{ n: string }>(db, "SELECT count() AS n FROM analysis_web_measurement FINAL");
  console.log(
    `observation + analysis (batches of ${BATCH}, embedded chDB in this process): ${done.toLocaleString("en")} measurements, ` +
      `${Number(rows!.n).toLocaleString("en")} analysis rows; ${rate(done, wall)} wall, ${rate(done, cpuS)} per CPU-second (${(cpuS / wall).toFixed(1)} cores busy)`,
  );
  // The batch-mode rebuild of the same rows (analysis reprocess), for comparison.
  const t = performance.now();
  for (const w of dayWindows(["2024-02-12 20:33:47.000"])) await runWebAnalysis(db, { since: w.since, until: w.until });
  console.log(`analysis reprocess of that day (${done.toLocaleString("en")} measurements): ${((performance.now() - t) / 1000).toFixed(1)} s`);
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
