import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadFingerprintDir } from "../../origin/src/fastpath/fingerprints";
import { decodePost } from "../../origin/src/fastpath/pipeline/decode";
import { scoreItem, type ScoreItem } from "../../origin/src/fastpath/pipeline/score-item";
import { scoreMeasurement } from "../../origin/src/fastpath/score";

// Our side of bench/fastpath's comparison, in a process of its own (so its peak RSS is its own),
// doing what test/support/upstream-fastpath/harness.py `bench` does for upstream's fastpath:
// bytes → row over the items (JSON lines {uid, post}), looped for N seconds, then scoring alone on
// the parsed measurements. One JSON line out, same keys as the harness.
//
//   node --import tsx bench/fastpath/one-core.ts --items FILE --fingerprints DIR --seconds N

const { values } = parseArgs({ options: { items: { type: "string" }, fingerprints: { type: "string" }, seconds: { type: "string" } } });
const SECONDS = Number(values.seconds ?? 5);
const fingerprints = await loadFingerprintDir(values.fingerprints!);
const items: (ScoreItem & { kind: "post" })[] = readFileSync(values.items!, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => {
    const { uid, post } = JSON.parse(l) as { uid: string; post: string };
    return { kind: "post", uid, data: Buffer.from(post) };
  });
const bytes = items.reduce((n, it) => n + it.data.length, 0);

function loop(fn: (i: number) => void, seconds: number): { n: number; nbytes: number; s: number } {
  let n = 0;
  let nbytes = 0;
  const t0 = performance.now();
  for (;;) {
    for (let i = 0; i < items.length; i++) {
      fn(i);
      n++;
      nbytes += items[i]!.data.length;
    }
    const s = (performance.now() - t0) / 1000;
    if (s >= seconds) return { n, nbytes, s };
  }
}

const toRow = (i: number) => {
  const r = scoreItem(items[i]!, fingerprints);
  if (!r.ok) throw new Error(r.error);
};
loop(toRow, Math.min(1, SECONDS)); // warm-up, as the harness does
const rows = loop(toRow, SECONDS);
const rssRows = process.resourceUsage().maxRSS;
const parsed = items.map((it) => decodePost(it.data).measurement);
const only = loop((i) => scoreMeasurement(parsed[i]!, { fingerprints, measurementUid: items[i]!.uid }), SECONDS);
console.log(
  JSON.stringify({
    items: items.length,
    bytes,
    rows_per_s: rows.n / rows.s,
    mb_per_s: rows.nbytes / rows.s / 1e6,
    score_per_s: only.n / only.s,
    peak_rss_kb_rows: rssRows,
    peak_rss_kb: process.resourceUsage().maxRSS,
  }),
);
