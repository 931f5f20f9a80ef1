import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { detectChangepoints, DETECTOR_DEFAULTS, SIGNALS, seriesKey, type HourObservation, type SeriesKey, type SeriesState } from "../../../origin/src/changepoints/cusum";
import { repoRoot } from "../../support/origin-process";
import { prepareUpstream, unavailable } from "../../support/upstream-pipeline";

// Conformance with upstream's changepoint detector: ooni/data's detect_changepoints(), unchanged
// from the snapshot (test/support/upstream-pipeline.ts: the snapshot and its venv), and ours over
// the same synthetic hourly series — steps up and down, noise, lone spikes, silent hours, gaps of
// days (the decay), signals without measurements — run in day-long chunks, each starting from
// the states the previous chunk left, as hourly runs do through event_detector_cusums. Every
// changepoint and every final state must match; floats to 1e-9.

const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`changepoints conformance skipped: ${unavailable}`);

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const DAYS = 21;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Sixty series of three weeks of hours, of assorted shapes, sorted as the detector's query sorts them. */
function makeSeries(): HourObservation[] {
  const r = rng(2024);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const out: HourObservation[] = [];
  for (let k = 0; k < 60; k++) {
    const kind = k % 6;
    const stepAt = Math.floor(r() * DAYS * 24);
    const backAt = stepAt + 24 + Math.floor(r() * 24 * 5);
    const gapFrom = Math.floor(r() * DAYS * 24);
    const gapLen = kind === 4 ? 12 + Math.floor(r() * 140) : 0;
    const level = (t: number): [number, number, number, number] => {
      const noise = () => (r() - 0.5) * 0.3;
      switch (kind) {
        case 0: // step up and back, at DNS (ISP resolver)
          return [clamp((t >= stepAt && t < backAt ? 0.9 : 0.02) + noise()), 0, 0.1, 0];
        case 1: // flat noise everywhere
          return [clamp(0.1 + noise()), clamp(0.1 + noise()), clamp(0.1 + noise()), clamp(0.1 + noise())];
        case 2: // TCP blocked from the start, unblocked later
          return [0, 0, clamp((t < Math.min(backAt, (DAYS - 2) * 24) ? 0.95 : 0.05) + noise()), 0];
        case 3: // spikes of 1–5 hours at TLS, and in some series a day and a half of it blocked
          return [0, 0, 0, t % 50 < 1 + (k % 5) || (k % 4 === 3 && t >= stepAt && t < stepAt + 36) ? 1 : clamp(0.05 + noise())];
        case 4: // a step while silent for days: the decay matters
          return [clamp((t >= gapFrom + gapLen / 2 ? 0.8 : 0) + noise()), 0, 0, 0];
        default: // intermittent blocking hovering around the threshold
          return [clamp((Math.floor(t / 9) % 2 ? 0.6 : 0.15) + noise()), clamp(0.4 + noise()), 0, 0];
      }
    };
    for (let t = 0; t < DAYS * 24; t++) {
      if (t >= gapFrom && t < gapFrom + gapLen) continue;
      if (k % 3 === 0 && t % 72 < 15 + (k % 8)) continue; // a silent stretch of 15–22 hours every three days
      if (r() < 0.15) continue; // an hour without measurements from that network
      const [dnsIsp, dnsOther, tcp, tls] = level(t);
      const isp = r() < 0.1 ? 0 : 1 + Math.floor(r() * 4);
      const other = r() < 0.5 ? 0 : 1 + Math.floor(r() * 3);
      out.push({
        probe_cc: k % 2 ? "IT" : "IR", probe_asn: 1000 + (k % 7), domain: `d${k}.example`, ts: T0 + t * H,
        count_isp_resolver: isp, count_other_resolver: other, count: isp + other,
        dns_isp_blocked: isp ? dnsIsp : Number.NaN, dns_other_blocked: other ? dnsOther : Number.NaN, tcp_blocked: tcp, tls_blocked: tls,
      });
    }
  }
  const key = (o: HourObservation) => `${o.probe_cc}\u0000${String(o.probe_asn).padStart(10, "0")}\u0000${o.domain}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.ts - b.ts));
}

/** Day-long chunks (the hours of every series in that day), in the detector's order. */
function chunks(all: HourObservation[]): HourObservation[][] {
  const out: HourObservation[][] = [];
  for (let d = 0; d < DAYS; d++) out.push(all.filter((o) => o.ts >= T0 + d * 24 * H && o.ts < T0 + (d + 1) * 24 * H));
  return out;
}

function ours(parts: HourObservation[][]) {
  const prior = new Map<SeriesKey, SeriesState>();
  const changepoints = [];
  for (const part of parts) {
    const r = detectChangepoints(part, prior);
    changepoints.push(...r.changepoints);
    for (const s of r.states) prior.set(seriesKey(s.probe_cc, s.probe_asn, s.domain), s);
  }
  const states = [...prior.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => {
    const flat: Record<string, unknown> = { probe_cc: s.probe_cc, probe_asn: s.probe_asn, domain: s.domain, ts: s.ts };
    for (const [sig] of SIGNALS) for (const [f, v] of Object.entries(s.signals[sig])) flat[`${sig}_${f}`] = v;
    return flat;
  });
  return { changepoints, states };
}

const nanToNull = (v: unknown) => (typeof v === "number" && Number.isNaN(v) ? null : v);

function same(a: unknown, b: unknown): boolean {
  a = nanToNull(a);
  b = nanToNull(b);
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return a === b;
}

function differences(ourRows: Record<string, unknown>[], upRows: Record<string, unknown>[], what: string): string[] {
  const diffs: string[] = [];
  if (ourRows.length !== upRows.length) diffs.push(`${what}: ${ourRows.length} rows here, ${upRows.length} upstream`);
  for (let i = 0; i < Math.min(ourRows.length, upRows.length); i++) {
    for (const k of new Set([...Object.keys(ourRows[i]!), ...Object.keys(upRows[i]!)])) {
      if (!same(ourRows[i]![k], upRows[i]![k])) diffs.push(`${what}[${i}].${k}: ${JSON.stringify(ourRows[i]![k])} here, ${JSON.stringify(upRows[i]![k])} upstream`);
    }
  }
  return diffs;
}

suite("changepoint detector conformance with upstream (ooni/data detector.py, unchanged)", () => {
  it("same changepoints and same final states over 60 synthetic series in 21 daily runs", { timeout: 900_000 }, () => {
    const up = prepareUpstream();
    const parts = chunks(makeSeries());
    const dir = mkdtempSync(path.join(tmpdir(), "cp-conformance-"));
    let upstream: { changepoints: Record<string, unknown>[]; states: Record<string, unknown>[] };
    try {
      const input = path.join(dir, "in.json");
      const output = path.join(dir, "out.json");
      const nan = (v: number) => (Number.isNaN(v) ? null : v);
      const payload = parts.map((p) => p.map((o) => ({ ...o, dns_isp_blocked: nan(o.dns_isp_blocked), dns_other_blocked: nan(o.dns_other_blocked) })));
      writeFileSync(input, JSON.stringify({ edd: DETECTOR_DEFAULTS.edd, gap_halflife: DETECTOR_DEFAULTS.gapHalflifeH, warmup: false, chunks: payload }));
      execFileSync(up.python, [path.join(repoRoot, "test/origin/changepoints/upstream/run_upstream_detector.py"), up.sourceDir, input, output], { stdio: ["ignore", "ignore", "pipe"], timeout: 600_000 });
      upstream = JSON.parse(readFileSync(output, "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const mine = ours(parts);
    const diffs = [
      ...differences(mine.changepoints as unknown as Record<string, unknown>[], upstream.changepoints, "changepoints"),
      ...differences(mine.states, upstream.states, "states"),
    ];
    const ups = mine.changepoints.filter((c) => c.change_dir === 1).length;
    console.log(
      `changepoints conformance (ooni/data ${up.commit.slice(0, 12)}): ${mine.changepoints.length} changepoints here (${ups} up), ` +
        `${upstream.changepoints.length} upstream; ${mine.states.length} series states; ${diffs.length} differences`,
    );
    expect(diffs.slice(0, 20)).toEqual([]);
    // The series are built to exercise the detector: both directions, on several signals.
    expect(ups).toBeGreaterThan(5);
    expect(mine.changepoints.length - ups).toBeGreaterThan(5);
    expect(new Set(mine.changepoints.map((c) => c.block_type)).size).toBeGreaterThanOrEqual(3);
  });
});
