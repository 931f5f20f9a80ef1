import { readFileSync } from "node:fs";
import { Agent } from "undici";
import type { Measurement } from "../contract/probe-engine";
import { Ledger, verifyStored, waitForFastpath, type StoredFigures } from "./ledger";
import type { LoadStack } from "./load-stack";
import {
  checkIn,
  explorerGet,
  GaveUp,
  measurementTemplates,
  openReport,
  submitMeasurement,
  submitToReport,
  thControl,
  type Attempt,
  type ClientContext,
  type Kind,
} from "./probe-client";
import { controlBody } from "./th-client";

// The load generator shared by bench/load/run.ts and test/faults/load.test.ts: N probe-like clients,
// each from its own network, running probe sessions for a bounded time and request count —
// check-in, open a report, web-connectivity control requests to the test helpers, measurements
// submitted (into the report and without one), and now and then an Explorer read — either
// through the edge Worker or straight to the origin and the helpers (the baseline).

export const KINDS: Kind[] = ["check_in", "open_report", "th_control", "submit", "submit_measurement", "explorer_get"];

/** Explorer's heavy reads: historical and recent aggregations and a rolling summary. */
const EXPLORER_PATHS = [
  "/api/v1/aggregation?probe_cc=IT&since=2024-01-01&until=2024-02-01",
  "/api/v1/aggregation?test_name=web_connectivity&axis_x=probe_cc&since=2024-01-01&until=2024-01-08",
  "/api/v1/aggregation?probe_cc=IT&test_name=web_connectivity&since=2025-01-01",
  "/api/_/global_overview",
];

/** A timed run checks in and gets 20 URLs (probe-contract: check-in on battery), then measures them. */
const MEASUREMENTS_PER_SESSION = 20;

export interface LoadOptions {
  clients: number;
  durationS: number;
  /** "edge": everything through the Worker. "direct": API calls to the origin, control requests to a helper. */
  via: "edge" | "direct";
  /** Mean pause between a client's requests (uniform 0..2×); a real web_connectivity measurement takes seconds. */
  thinkMs?: number;
  /** No new session starts once this many requests were sent. */
  maxRequests?: number;
  /** How often the origin's RSS is sampled. */
  rssEveryMs?: number;
}

export interface RssSample {
  atS: number;
  mb: number;
}

export interface LoadRun {
  options: LoadOptions;
  attempts: Attempt[];
  ledger: Ledger;
  elapsedS: number;
  rss: RssSample[];
  gaveUp: string[];
  measurementSource: string;
}

/** Resident memory of a process, from /proc (Linux). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function runLoad(stack: LoadStack, opts: LoadOptions): Promise<LoadRun> {
  const { templates, source } = measurementTemplates();
  // Real sizes, real mix: large measurements (over 100 kB, e.g. a 570 kB corpus one) are rare in practice.
  const small = templates.filter((m) => JSON.stringify(m).length <= 100_000);
  const large = templates.filter((m) => JSON.stringify(m).length > 100_000);
  const pick = (): Measurement =>
    large.length > 0 && Math.random() < 0.01 ? large[Math.floor(Math.random() * large.length)]! : small[Math.floor(Math.random() * small.length)]!;
  const thinkMs = opts.thinkMs ?? 250;
  const maxRequests = opts.maxRequests ?? opts.clients * opts.durationS * 20;
  // An idle pooled connection is given up after 4 s (undici's default), before the servers close
  // it: workerd closes an idle keep-alive connection after 5 s, as Node's http servers (origin,
  // helpers) do, and neither says so in a Keep-Alive header. A client that keeps it longer sends,
  // now and then, a request on a connection the server is closing at that moment, and gets "other
  // side closed" (UND_ERR_SOCKET) without the request having been read — a client bug, not a
  // server's failure (Go's HTTP client, which probes use, likewise drops idle connections early).
  const dispatcher = new Agent({ connections: opts.clients * 2, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000 });
  const attempts: Attempt[] = [];
  const ledger = new Ledger();
  const gaveUp: string[] = [];
  const control = controlBody(stack.site.url, stack.site.endpoint);
  const t0 = performance.now();
  const stopAt = t0 + opts.durationS * 1000;

  const rss: RssSample[] = [];
  const sample = () => rss.push({ atS: (performance.now() - t0) / 1000, mb: rssMb(stack.origin.child.pid!) });
  sample();
  const sampler = setInterval(sample, opts.rssEveryMs ?? 2_000);

  const think = () => new Promise((r) => setTimeout(r, Math.random() * 2 * thinkMs));
  const client = async (i: number) => {
    const ip = `10.${40 + (i >> 8)}.${i & 255}.${1 + (i % 250)}`;
    const base = (url: string): ClientContext => ({
      baseUrl: url,
      clientIp: ip,
      hangLimitMs: 60_000,
      dispatcher,
      log: (a) => attempts.push(a),
      retryUntil: stopAt + 60_000,
    });
    // Straight to the origin, a client carries what the edge would add (its address, the shared
    // secret), so the origin does the same work (GeoIP, quotas) as behind the edge.
    const api =
      opts.via === "edge"
        ? base(stack.edge.url)
        : { ...base(stack.origin.url), extraHeaders: { "x-forwarded-for": ip, "x-ooni-edge-auth": stack.edgeSecret } };
    const th = base(opts.via === "edge" ? stack.edge.url : stack.helpers[i % stack.helpers.length]!.url);
    // Clients start spread over the first second, not all in the same millisecond.
    await new Promise((r) => setTimeout(r, Math.random() * 1_000));
    while (performance.now() < stopAt && attempts.length < maxRequests) {
      const m = pick();
      try {
        await checkIn(api);
        await think();
        const rid = await openReport(api, m);
        // A probe checks in once per run, then measures URL after URL: a control request, a submission.
        for (let k = 0; k < MEASUREMENTS_PER_SESSION; k++) {
          await think();
          await thControl(th, control);
          await think();
          await submitToReport(api, ledger, rid, m);
        }
        await think();
        await submitMeasurement(api, ledger, m);
        if (Math.random() < 0.5) {
          await think();
          await explorerGet(api, EXPLORER_PATHS[Math.floor(Math.random() * EXPLORER_PATHS.length)]!);
        }
      } catch (err) {
        if (!(err instanceof GaveUp)) throw err;
        gaveUp.push(err.message);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.clients }, (_, i) => client(i)));
  } finally {
    clearInterval(sampler);
    await dispatcher.close();
  }
  sample();
  return { options: opts, attempts, ledger, elapsedS: (performance.now() - t0) / 1000, rss, gaveUp, measurementSource: source };
}

export interface KindStats {
  count: number;
  errors: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Every request counts: anything but a 200 is an error (a 4xx, a 5xx, a broken connection, a hang). */
export function stats(run: LoadRun): { all: KindStats; byKind: Record<string, KindStats>; errorSamples: string[] } {
  const of = (list: Attempt[]): KindStats => {
    const ms = list.map((a) => a.ms).sort((a, b) => a - b);
    return {
      count: list.length,
      errors: list.filter((a) => a.status !== 200).length,
      rps: list.length / run.elapsedS,
      p50: pct(ms, 50),
      p95: pct(ms, 95),
      p99: pct(ms, 99),
      max: ms.length ? ms[ms.length - 1]! : NaN,
    };
  };
  const byKind: Record<string, KindStats> = {};
  for (const k of KINDS) byKind[k] = of(run.attempts.filter((a) => a.kind === k));
  const errorSamples = [...new Set(run.attempts.filter((a) => a.status !== 200).map((a) => `${a.kind} ${a.status} ${a.detail ?? ""}`.slice(0, 200)))].slice(0, 10);
  return { all: of(run.attempts), byKind, errorSamples };
}

/**
 * Memory over the run: the peak, the last sample, and whether growth flattened — the peak of the
 * last third of the run against the peak of the middle third (the first third is warm-up).
 */
export function memory(run: LoadRun): { maxMb: number; finalMb: number; midPeakMb: number; lastPeakMb: number; lateGrowth: number } {
  const mbs = run.rss.map((s) => s.mb);
  const third = run.elapsedS / 3;
  const peak = (from: number, to: number) => Math.max(0, ...run.rss.filter((s) => s.atS >= from && s.atS <= to).map((s) => s.mb));
  const midPeakMb = peak(third, 2 * third);
  const lastPeakMb = peak(2 * third, Number.POSITIVE_INFINITY);
  return { maxMb: Math.max(...mbs), finalMb: mbs[mbs.length - 1]!, midPeakMb, lastPeakMb, lateGrowth: midPeakMb > 0 ? lastPeakMb / midPeakMb : NaN };
}

/** After the load: the fastpath catches up, the origin stops, and spool + ClickHouse are read back. */
export async function verifyRun(stack: LoadStack, ledger: Ledger): Promise<StoredFigures & { fastpathCatchUpMs: number }> {
  const caughtUp = await waitForFastpath(stack.origin.dataDir, 300_000);
  await stack.origin.stop();
  return { ...(await verifyStored(stack.origin.dataDir, ledger.acks)), fastpathCatchUpMs: caughtUp.waitedMs };
}

/** A table of per-kind figures, for the bench and the test's log. */
export function formatStats(label: string, s: ReturnType<typeof stats>): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 1 : 0) : "-");
  const lines = [`${label}`, `  ${"kind".padEnd(20)} ${"count".padStart(7)} ${"req/s".padStart(7)} ${"errors".padStart(6)} ${"p50 ms".padStart(7)} ${"p95 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(7)}`];
  for (const [k, v] of [...Object.entries(s.byKind), ["all", s.all] as const]) {
    lines.push(`  ${k.padEnd(20)} ${String(v.count).padStart(7)} ${f(v.rps).padStart(7)} ${String(v.errors).padStart(6)} ${f(v.p50).padStart(7)} ${f(v.p95).padStart(7)} ${f(v.p99).padStart(7)} ${f(v.max).padStart(7)}`);
  }
  return lines.join("\n");
}
