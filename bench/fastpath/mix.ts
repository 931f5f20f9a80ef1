import { SCORERS } from "../../origin/src/fastpath/scoring";
import { makeMeasurementUid } from "../../origin/src/intake/measurement-uid";
import type { Fixture } from "../../test/support/upstream-fastpath/fixtures";

// A realistic traffic mix for the fastpath bench, built from real measurements (the fixtures the
// conformance test uses) and deterministic (seeded):
//   80 % web_connectivity — real bodies (legacy 0.4 and LTE 0.5) as they are; 1 in 25 of them
//        carries an enlarged HTTP body (a real page's HTML repeated to 110 KB – 1.1 MB, log-uniform),
//        as the pages probes fetch and snapshot are;
//   20 % the other tests the fastpath scores (those probes run: telegram, signal, tor, dash, …),
//        one test name as likely as another.
// Every measurement is dated now (so the date rules do not fail it) and wrapped as the fastpath
// receives it: {"format":"json","content":…}.

export interface MixItem {
  uid: string;
  post: Buffer;
  testName: string;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FILLER =
  '<div class="article"><h2>News of the day</h2><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do ' +
  'eiusmod tempor incididunt ut labore et dolore magna aliqua. <a href="/section/world/2024/01/15/story-1234.html">' +
  "Read more</a></p><img src=\"/static/img/thumb-1234.jpg\" alt=\"\" width=\"320\" height=\"180\"></div>\n";

/** A measurement with its first HTTP response body grown to about `size` bytes. */
function enlarge(m: Record<string, unknown>, size: number): boolean {
  const tk = m.test_keys as Record<string, unknown> | null;
  const requests = tk && Array.isArray(tk.requests) ? (tk.requests as Record<string, unknown>[]) : [];
  const resp = requests.find((r) => r && typeof r === "object" && r.response && typeof r.response === "object")?.response as
    | Record<string, unknown>
    | undefined;
  if (!resp) return false;
  const base = typeof resp.body === "string" && resp.body.length > 200 ? resp.body : FILLER;
  resp.body = base.repeat(Math.ceil(size / base.length)).slice(0, size);
  resp.body_length = size;
  return true;
}

export function buildMix(fixtures: Fixture[], count: number, seed = 20): MixItem[] {
  const random = rng(seed);
  const parsed = fixtures.map((f) => ({ f, m: JSON.parse(f.text) as Record<string, unknown> }));
  const wc = parsed.filter((p) => p.f.testName === "web_connectivity" && typeof p.m.test_keys === "object" && p.m.test_keys !== null);
  const byName = new Map<string, typeof parsed>();
  for (const p of parsed) {
    if (p.f.testName === "web_connectivity" || !SCORERS.has(p.f.testName)) continue;
    byName.set(p.f.testName, [...(byName.get(p.f.testName) ?? []), p]);
  }
  const others = [...byName.values()];
  const now = new Date().toISOString().slice(0, 19).replace("T", " ");
  const items: MixItem[] = [];
  for (let i = 0; i < count; i++) {
    let m: Record<string, unknown>;
    if (random() < 0.8) {
      m = structuredClone(wc[Math.floor(random() * wc.length)]!.m);
      if (random() < 0.04) enlarge(m, Math.round(110_000 * Math.pow(10, random())));
    } else {
      const list = others[Math.floor(random() * others.length)]!;
      m = structuredClone(list[Math.floor(random() * list.length)]!.m);
    }
    m.measurement_start_time = now;
    if (typeof m.report_id !== "string") m.report_id = `20240101T000000Z_bench_IT_30722_n1_${i}`;
    if (typeof m.probe_cc !== "string" || m.probe_cc.toUpperCase() === "ZZ") m.probe_cc = "IT";
    if (typeof m.probe_asn !== "string" || m.probe_asn.toUpperCase() === "AS0") m.probe_asn = "AS30722";
    m.test_start_time ??= now;
    const post = Buffer.from(`{"format":"json","content":${JSON.stringify(m)}}`);
    const testName = String(m.test_name);
    items.push({ uid: makeMeasurementUid("IT", testName.replace(/_/g, ""), post), post, testName });
  }
  return items;
}

/** "web_connectivity 80.1 %, …" and size quantiles, for the report. */
export function describeMix(items: MixItem[]): string {
  const names = new Map<string, number>();
  for (const it of items) names.set(it.testName, (names.get(it.testName) ?? 0) + 1);
  const top = [...names].sort((a, b) => b[1] - a[1]);
  const pct = (n: number) => `${((n / items.length) * 100).toFixed(1)} %`;
  const sizes = items.map((i) => i.post.length).sort((a, b) => a - b);
  const q = (p: number) => `${(sizes[Math.min(sizes.length - 1, Math.floor(p * sizes.length))]! / 1024).toFixed(1)} KB`;
  const total = sizes.reduce((a, b) => a + b, 0);
  return (
    `${items.length} measurements, ${(total / 1e6).toFixed(1)} MB; ` +
    `${top.slice(0, 3).map(([n, c]) => `${n} ${pct(c)}`).join(", ")}, ${top.length - 3} other tests ${pct(top.slice(3).reduce((a, [, c]) => a + c, 0))}; ` +
    `size p50 ${q(0.5)}, p90 ${q(0.9)}, p99 ${q(0.99)}, max ${q(1 - 1e-9)}; > 100 KB: ${sizes.filter((s) => s > 100 * 1024).length}`
  );
}
