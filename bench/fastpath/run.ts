import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { queryRows } from "../../origin/src/db/clickhouse";
import { loadFingerprintDir } from "../../origin/src/fastpath/fingerprints";
import { startFastpath } from "../../origin/src/fastpath/pipeline";
import { SCORING_YOUNG_GENERATION_MB, ScoringPool } from "../../origin/src/fastpath/pipeline/pool";
import type { ScoreItem } from "../../origin/src/fastpath/pipeline/score-item";
import { FastpathStore } from "../../origin/src/fastpath/pipeline/store";
import { makeMeasurementUid } from "../../origin/src/intake/measurement-uid";
import { Spool } from "../../origin/src/intake/spool";
import { createLogger } from "../../origin/src/logger";
import { corpusAvailable, corpusDir, corpusPath } from "../../test/support/corpus";
import { repoRoot } from "../../test/support/origin-process";
import { openTempDb, pipelineConfig, tempDir } from "../../test/origin/fastpath-pipeline/helpers";
import { collectFixtures } from "../../test/support/upstream-fastpath/fixtures";
import { locateUpstreamFastpath, runHarness } from "../../test/support/upstream-fastpath/locate";
import { buildMix, describeMix, type MixItem } from "./mix";

// Fastpath throughput on a realistic traffic mix (./mix.ts: 80 % web_connectivity from real
// measurements, some with large bodies; the rest every other test found), beside OONI's own Python
// fastpath (ooni/backend fastpath.core, run unchanged by test/support/upstream-fastpath/harness.py)
// in the same run, one core each, one process each (run one after the other):
//  0. bytes → row (the {"format":"json","content":…} body → the fastpath row: what upstream's
//     fastpath.core does) and scoring alone, on the measurements ≤ 100 KB and on all of them; peak
//     RSS of each process; the ratios; and our production path, which also builds the observation
//     rows of web_connectivity from the same parse (upstream has no counterpart in fastpath.core);
//  1. the production path through our scoring threads (one per core);
//  2. end to end, spool files → rows in ClickHouse (embedded chDB): rows per second.
// Without the ooni/backend snapshot or Python (see test/support/upstream-fastpath/locate.ts), only
// our figures are printed.
//
//   node --import tsx bench/fastpath/run.ts [--seconds 5] [--count 2000] [--rows 20000] [--threads N] [--compare-only]

const { values } = parseArgs({
  options: {
    seconds: { type: "string" },
    rows: { type: "string" },
    threads: { type: "string" },
    count: { type: "string" },
    "compare-only": { type: "boolean" },
  },
});
const SECONDS = Number(values.seconds ?? 5);
const ROWS = Number(values.rows ?? 20_000);
const THREADS = Number(values.threads ?? availableParallelism());
const COUNT = Number(values.count ?? 2000);

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

const located = locateUpstreamFastpath();
const fixtureSet = collectFixtures(located.ok ? located.upstream.backendDir : null);
const mix = buildMix(fixtureSet.fixtures, COUNT);
const small = mix.filter((m) => m.post.length <= 100 * 1024);
const fingerprints = await loadFingerprintDir(corpusPath("fingerprints"));
console.log(`mix (all): ${describeMix(mix)}`);
console.log(`mix (≤ 100 KB): ${describeMix(small)}`);
console.log(`fingerprints: ${fingerprints.dns.length} DNS, ${fingerprints.http.length} HTTP`);
console.log(
  located.ok
    ? `upstream: ooni/backend ${located.upstream.revision.slice(0, 8)} fastpath.core (${located.upstream.python})`
    : `upstream: not available (${located.reason}): our figures only`,
);

interface OneCore {
  items: number;
  /** Ours only: bytes → row plus observation rows, the production path. */
  prod_rows_per_s?: number;
  bytes: number;
  rows_per_s: number;
  mb_per_s: number;
  score_per_s: number;
  peak_rss_kb_rows: number;
  peak_rss_kb: number;
}

// 0. One core each, ours and upstream's, on the same files.
const work = tempDir("bench-fastpath");
const itemsFile = (name: string, list: MixItem[]) => {
  const f = path.join(work.dir, `${name}.jsonl`);
  // "uid<TAB>post" lines: both sides read them without a JSON layer of their own.
  writeFileSync(f, Buffer.concat(list.flatMap((m) => [Buffer.from(`${m.uid}\t`), m.post, Buffer.from("\n")])));
  return f;
};
function ours(file: string): OneCore {
  const r = spawnSync(
    process.execPath,
    // The scoring threads' young generation (SCORING_YOUNG_GENERATION_MB = 3 semi-spaces).
    ["--expose-gc", `--max-semi-space-size=${SCORING_YOUNG_GENERATION_MB / 3}`, "--import", "tsx", path.join(repoRoot, "bench/fastpath/one-core.ts"), "--items", file, "--fingerprints", corpusPath("fingerprints"), "--seconds", String(SECONDS)],
    { encoding: "utf8", cwd: repoRoot, maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`one-core.ts failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as OneCore;
}
function upstream(file: string): OneCore | null {
  if (!located.ok) return null;
  return JSON.parse(runHarness(located.upstream, ["bench", "--items", file, "--seconds", String(SECONDS)]).trim()) as OneCore;
}
const x = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
// "bytes → row" is the work upstream's fastpath.core does: parse, score, build the row. Production
// also builds web_connectivity's observation rows from the same parse (OONI does that in another
// pipeline); its rate is printed beside, against the same upstream figure, and says so.
const table: string[] = [
  "| mix | bytes → row (scoring only), ours | upstream | ratio | production (scoring + observations), ours | ratio | MB/s ours / upstream | scoring alone ratio | peak RSS ours / upstream | RSS ratio |",
  "|---|---|---|---|---|---|---|---|---|---|",
];
const notes: string[] = [];
for (const [name, list] of [["≤ 100 KB", small], ["all", mix]] as const) {
  const file = itemsFile(name === "all" ? "all" : "small", list);
  const o = ours(file);
  const u = upstream(file);
  const n = (v: number) => Math.round(v).toLocaleString("en");
  const rss = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  table.push(
    `| ${name} (${list.length}) | ${n(o.rows_per_s)}/s | ${u ? `${n(u.rows_per_s)}/s` : "–"} | ${u ? x(o.rows_per_s, u.rows_per_s) : "–"} | ` +
      `${n(o.prod_rows_per_s ?? 0)}/s | ${u ? x(o.prod_rows_per_s ?? 0, u.rows_per_s) : "–"} | ` +
      `${o.mb_per_s.toFixed(1)} / ${u ? u.mb_per_s.toFixed(1) : "–"} | ${u ? `${x(o.score_per_s, u.score_per_s)} (${n(o.score_per_s)} vs ${n(u.score_per_s)}/s)` : n(o.score_per_s)} | ` +
      `${rss(o.peak_rss_kb_rows)} / ${u ? rss(u.peak_rss_kb_rows) : "–"} | ${u ? x(o.peak_rss_kb_rows, u.peak_rss_kb_rows) : "–"} |`,
  );
  notes.push(
    `${name}: whole-process peak RSS (loading and the scoring-alone run included) ours ${(o.peak_rss_kb / 1024).toFixed(0)} MB` +
      (u ? `, upstream ${(u.peak_rss_kb / 1024).toFixed(0)} MB` : ""),
  );
}
work.cleanup();
console.log(
  `\n1 core each, ${SECONDS} s per figure; rates per CPU second of the process; peak RSS during the bytes → row ` +
    `(scoring only) run (restarted after loading and warm-up; each process holds its mix and fingerprints). ` +
    `Production's ratio is against upstream's scoring-only rate: upstream builds no observations there.`,
);
console.log(table.join("\n"));
console.log(notes.join("\n"));
if (values["compare-only"]) process.exit(0);

const items: ScoreItem[] = mix.map((m) => ({ kind: "post", uid: m.uid, data: m.post }));

// 1. Scoring threads.
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

// 2. Spool → ClickHouse.
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
