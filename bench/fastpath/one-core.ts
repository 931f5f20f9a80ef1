import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadFingerprintDir } from "../../origin/src/fastpath/fingerprints";
import { decodePost } from "../../origin/src/fastpath/pipeline/decode";
import { scoreItem, type ScoreItem } from "../../origin/src/fastpath/pipeline/score-item";
import { scoreMeasurement } from "../../origin/src/fastpath/score";

// Our side of bench/fastpath's comparison, in a process of its own (so its peak RSS is its own),
// doing exactly what test/support/upstream-fastpath/harness.py `bench` does for upstream's
// fastpath: bytes → row over the items ("uid<TAB>post" lines), looped for N seconds of wall time,
// then scoring alone on the parsed measurements. Rates are per CPU second of the whole process
// (V8's GC threads included), so that other load on a shared machine moves them less. Peak RSS is
// that of the bytes → row run: the counter (VmHWM) is restarted after loading and warming up, in
// both processes, after a full GC (Python frees as it goes; `--expose-gc` lets us do the same).
// One JSON line out, the harness's keys plus prod_rows_per_s.
//
// run.ts starts it with the scoring threads' young-generation size (--max-semi-space-size, see
// SCORING_YOUNG_GENERATION_MB in origin/src/fastpath/pipeline/pool.ts).
//
//   node --expose-gc --max-semi-space-size=8 --import tsx bench/fastpath/one-core.ts --items FILE --fingerprints DIR --seconds N

const { values } = parseArgs({ options: { items: { type: "string" }, fingerprints: { type: "string" }, seconds: { type: "string" } } });
const SECONDS = Number(values.seconds ?? 5);
const fingerprints = await loadFingerprintDir(values.fingerprints!);

// One buffer for the whole file; items are views into it (no copies).
const file = readFileSync(values.items!);
const items: (ScoreItem & { kind: "post" })[] = [];
for (let pos = 0; pos < file.length; ) {
  let nl = file.indexOf(0x0a, pos);
  if (nl < 0) nl = file.length;
  const tab = file.indexOf(0x09, pos);
  if (tab > pos && tab < nl) items.push({ kind: "post", uid: file.toString("latin1", pos, tab), data: file.subarray(tab + 1, nl) });
  pos = nl + 1;
}
const bytes = items.reduce((n, it) => n + it.data.length, 0);

function loop(fn: (i: number) => void, seconds: number): { n: number; nbytes: number; s: number } {
  let n = 0;
  let nbytes = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (;;) {
    for (let i = 0; i < items.length; i++) {
      fn(i);
      n++;
      nbytes += items[i]!.data.length;
    }
    if (performance.now() - t0 >= seconds * 1000) {
      const c = process.cpuUsage(c0);
      return { n, nbytes, s: (c.user + c.system) / 1e6 };
    }
  }
}

function resetPeakRss(): void {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    // not Linux: the peak then includes loading
  }
}

function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // fall through
  }
  return process.resourceUsage().maxRSS;
}

// bytes → row, the work upstream's fastpath.core does (rows_per_s, compared with upstream), and
// the production path, which also builds web_connectivity's observation rows from the same parse
// (prod_rows_per_s; upstream builds those in another pipeline, so there is nothing to compare).
const toRow = (i: number) => {
  const r = scoreItem(items[i]!, fingerprints, { observations: false });
  if (!r.ok) throw new Error(r.error);
};
const toRowAndObservations = (i: number) => {
  const r = scoreItem(items[i]!, fingerprints);
  if (!r.ok) throw new Error(r.error);
};
loop(toRow, Math.min(1, SECONDS)); // warm-up, as the harness does
(globalThis as { gc?: () => void }).gc?.();
resetPeakRss();
const rows = loop(toRow, SECONDS);
const rssRows = peakRssKb();
loop(toRowAndObservations, Math.min(1, SECONDS));
const prod = loop(toRowAndObservations, SECONDS);
const parsed = items.map((it) => decodePost(it.data).measurement);
const only = loop((i) => scoreMeasurement(parsed[i]!, { fingerprints, measurementUid: items[i]!.uid }), SECONDS);
console.log(
  JSON.stringify({
    items: items.length,
    bytes,
    rows_per_s: rows.n / rows.s,
    mb_per_s: rows.nbytes / rows.s / 1e6,
    score_per_s: only.n / only.s,
    prod_rows_per_s: prod.n / prod.s,
    peak_rss_kb_rows: rssRows,
    peak_rss_kb: process.resourceUsage().maxRSS,
  }),
);
