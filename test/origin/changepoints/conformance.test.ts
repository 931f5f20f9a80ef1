import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { detectChangepoints, DETECTOR_DEFAULTS, SIGNALS, seriesKey, type HourObservation, type SeriesKey, type SeriesState } from "../../../origin/src/changepoints/cusum";
import { openDatabase, queryRows } from "../../../origin/src/db/clickhouse";
import { migrate } from "../../../origin/src/db/migrations";
import { runDetectorWindow } from "../../../origin/src/changepoints/run";
import { runUpstreamDetector } from "../../support/upstream-detector";
import { prepareUpstream, unavailable } from "../../support/upstream-pipeline";

// Conformance with upstream's changepoint detector: ooni/data's detect_changepoints(), unchanged
// from the snapshot (test/support/upstream-pipeline.ts: the snapshot and its venv), and ours over
// the same synthetic hourly series — steps up and down, noise, lone spikes, silent hours, gaps of
// days (the decay), signals without measurements — run in day-long chunks, each starting from
// the states the previous chunk left, as hourly runs do through event_detector_cusums. Every
// changepoint and every final state must match; floats to 1e-9. Then the whole run, upstream's
// run_detector() itself (its queries on embedded ClickHouse, its tables) hour by hour beside ours,
// over the same analysis rows: the tables they leave must match.

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

const chTs = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace("T", " ");

/**
 * Two days and a half of analysis rows from nine networks: a watched domain blocked at DNS for a
 * day in some, TCP in others, flapping or fine; one not watched (ignored by both); resolvers in
 * and out of the probe's AS; some at the exact hour (both sides exclude a window's bounds).
 */
function analysisRows() {
  const r = rng(99);
  const rows: Record<string, unknown>[] = [];
  let n = 0;
  for (let k = 0; k < 9; k++) {
    const asn = 2000 + k;
    const domain = k % 3 === 0 ? "twitter.com" : k % 3 === 1 ? "www.torproject.org" : "not-watched.example";
    for (let t = 0; t < 60; t++) {
      const blocked = t >= 14 + k && t < 40 + k;
      for (let m = 0; m < 1 + Math.floor(r() * 3); m++) {
        const ispResolver = r() < 0.6;
        const dns = k % 2 === 0 && blocked && ispResolver ? 0.9 : r() < 0.05 ? 0.6 : 0;
        const tcp = k % 2 === 1 && blocked ? 0.95 : k === 8 && t % 6 < 3 ? 0.8 : 0;
        const at = T0 + t * H + (m === 0 && t % 7 === 0 ? 0 : Math.floor(r() * H));
        rows.push({
          measurement_uid: `20240101000000.${String(n++).padStart(6, "0")}_XX_webconnectivity_${n.toString(16).padStart(16, "0")}`,
          measurement_start_time: chTs(at), probe_cc: k < 5 ? "IT" : "IR", probe_asn: asn, resolver_asn: ispResolver ? asn : 15169,
          domain, input: `https://${domain}/`, test_name: "web_connectivity",
          dns_blocked: dns, dns_down: 0, dns_ok: 1 - dns, tcp_blocked: tcp, tcp_down: 0, tcp_ok: 1 - tcp, tls_blocked: 0, tls_down: 0, tls_ok: 1,
        });
      }
    }
  }
  return rows;
}

const CITIZENLAB = [
  { domain: "www.torproject.org", url: "https://www.torproject.org/", cc: "ZZ", category_code: "GRP" },
  { domain: "not-watched.example", url: "https://not-watched.example/", cc: "ZZ", category_code: "NEWS" },
];

const toMs = (v: unknown) => Date.parse(`${String(v).replace(" ", "T")}Z`);

suite("changepoint detector conformance with upstream (ooni/data detector.py, unchanged)", () => {
  it("same changepoints and same final states over 60 synthetic series in 21 daily runs", { timeout: 900_000 }, () => {
    const up = prepareUpstream();
    const parts = chunks(makeSeries());
    const nan = (v: number) => (Number.isNaN(v) ? null : v);
    const payload = parts.map((p) => p.map((o) => ({ ...o, dns_isp_blocked: nan(o.dns_isp_blocked), dns_other_blocked: nan(o.dns_other_blocked) })));
    const upstream = runUpstreamDetector(up, { edd: DETECTOR_DEFAULTS.edd, gap_halflife: DETECTOR_DEFAULTS.gapHalflifeH, warmup: false, chunks: payload }) as {
      changepoints: Record<string, unknown>[];
      states: Record<string, unknown>[];
    };
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

suite("changepoint detector conformance: upstream's run_detector() against embedded ClickHouse, hour by hour", () => {
  it("leaves the same event_detector_changepoints rows and the same latest cusum state per series", { timeout: 900_000 }, async () => {
    const up = prepareUpstream();
    const rows = analysisRows();
    const hours: [number, number][] = Array.from({ length: 62 }, (_, i) => [T0 + (i - 1) * H, T0 + i * H]);
    const upstream = runUpstreamDetector(up, { analysis: rows, citizenlab: CITIZENLAB, windows: hours }, ["--full"]) as {
      changepoints: Record<string, unknown>[];
      cusums: Record<string, unknown>[];
      seconds: number;
    };

    const dir = mkdtempSync(path.join(tmpdir(), "cp-conformance-ours-"));
    const db = openDatabase({ kind: "embedded", path: path.join(dir, "ch"), database: "default", queryTimeoutS: 60 });
    try {
      await migrate(db);
      await db.client.insert({ table: "analysis_web_measurement", values: rows, format: "JSONEachRow" });
      await db.client.insert({ table: "citizenlab", values: CITIZENLAB, format: "JSONEachRow" });
      const t1 = performance.now();
      for (const [a, b] of hours) await runDetectorWindow(db, new Date(a), new Date(b), []);
      const oursS = (performance.now() - t1) / 1000;
      const cps = (
        await queryRows<Record<string, unknown>>(db, "SELECT * FROM event_detector_changepoints FINAL ORDER BY ts, probe_cc, probe_asn, domain, block_type")
      ).map((c): Record<string, unknown> => ({ ...c, ts: toMs(c.ts) }));
      const cusumRows = await queryRows<Record<string, unknown>>(db, "SELECT * FROM event_detector_cusums ORDER BY probe_cc, probe_asn, domain, ts");
      const latest = new Map<string, Record<string, unknown>>();
      for (const c of cusumRows) {
        const flat: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(c)) flat[k] = k === "ts" || k.endsWith("_last_ts") ? (v === null ? null : toMs(v)) : v;
        latest.set(`${String(c.probe_cc)}\u0000${String(c.probe_asn).padStart(10, "0")}\u0000${String(c.domain)}`, flat);
      }
      const cusums = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
      const diffs = [...differences(cps, upstream.changepoints, "changepoints"), ...differences(cusums, upstream.cusums, "cusums")];
      console.log(
        `changepoints conformance, whole runs (ooni/data ${up.commit.slice(0, 12)}): ${rows.length} analysis rows, ${hours.length} hourly runs; ` +
          `${cps.length} changepoints here, ${upstream.changepoints.length} upstream; ${cusums.length} series; ${diffs.length} differences ` +
          `(the runs: upstream ${upstream.seconds.toFixed(1)} s, ours ${oursS.toFixed(1)} s)`,
      );
      expect(diffs.slice(0, 20)).toEqual([]);
      expect(cps.length).toBeGreaterThanOrEqual(6);
      expect(new Set(cps.map((c) => c.domain))).toEqual(new Set(["twitter.com", "www.torproject.org"]));
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
