// Intake benchmark: accepted submissions per second through edge + origin, with the durable spool
// (temp file → fsync → rename → fsync dir, before every 200) and, in the same run, with spooling
// disabled (INTAKE_DISCARD=true, a benchmark-only setting), at 50 concurrent clients. The edge is
// the Worker in workerd under Miniflare directly (test/support/wrangler-dev-main.ts, as the
// reliability suites run it): `wrangler dev`'s proxy in front of the Worker was this benchmark's
// bottleneck. Prints both, their ratio (goal ≥ 0.5) and p50/p99 latency; the origin-direct figures
// are printed too, to show what the edge costs. Loopback only; bounded in time and count.
//
//   node --import tsx bench/intake/run.ts
//   BENCH_SECONDS=10 BENCH_CONCURRENCY=50 BENCH_MAX_REQUESTS=50000 node --import tsx bench/intake/run.ts
//   UV_THREADPOOL_SIZE=16 node --import tsx bench/intake/run.ts   (origins get the same thread pool size)

import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { startOriginProcess, type OriginProcess } from "../../test/support/origin-process";
import { startEdgeProcess, type EdgeProcess } from "../../test/contract/edge-process";
import { webConnectivityMeasurement } from "../../test/contract/probe-engine";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 50_000);
const ROUNDS = 2; // modes alternate, so drift (page cache, CPU frequency) hits both alike
// Loopback only: no metrics to Cloudflare, no cf lookups (the edge process sets them too).
process.env.WRANGLER_SEND_METRICS = "false";
process.env.WRANGLER_HIDE_BANNER = "true";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

interface Target {
  name: string;
  url: string;
  origin: OriginProcess;
}

interface Result {
  ok: number;
  failed: number;
  /** Why requests failed: "HTTP 502", "UND_ERR_SOCKET", … */
  reasons: Record<string, number>;
  seconds: number;
  latenciesMs: number[];
}

/** A realistic web_connectivity submission (~6 KiB), different each time. */
function body(reportId: string, i: number): string {
  const m = webConnectivityMeasurement("IT", "AS30722", `https://www.example.org/${i}`, "2024-02-14 09:06:17");
  (m.test_keys as Record<string, unknown>).requests = [
    {
      request: { method: "GET", url: `https://www.example.org/${i}`, headers: { "User-Agent": "Mozilla/5.0" } },
      response: { code: 200, headers: { "Content-Type": "text/html" }, body: `<html>${"lorem ipsum dolor sit amet ".repeat(200)}${i}</html>` },
    },
  ];
  return JSON.stringify({ format: "json", content: { ...m, report_id: reportId } });
}

async function openReport(url: string, dispatcher: Agent): Promise<string> {
  const res = await undiciFetch(`${url}/report`, {
    method: "POST",
    dispatcher,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      data_format_version: "0.2.0", format: "json", probe_asn: "AS30722", probe_cc: "IT", software_name: "miniooni",
      software_version: "0.1.0-dev", test_name: "web_connectivity", test_start_time: "2024-02-14 09:06:17", test_version: "0.4.3",
    }),
  });
  if (res.status !== 200) throw new Error(`open report at ${url}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { report_id: string }).report_id;
}

async function load(url: string, seconds: number, maxRequests: number): Promise<Result> {
  const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const rid = await openReport(url, dispatcher);
  const latenciesMs: number[] = [];
  let ok = 0;
  let failed = 0;
  let issued = 0;
  const reasons: Record<string, number> = {};
  const fail = (why: string) => {
    failed++;
    reasons[why] = (reasons[why] ?? 0) + 1;
  };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline && issued < maxRequests) {
      const i = issued++;
      const start = performance.now();
      try {
        const res = await undiciFetch(`${url}/report/${rid}`, {
          method: "POST",
          dispatcher,
          headers: { "content-type": "application/json", "user-agent": "miniooni/0.1.0-dev ooniprobe-engine/3.31.0" },
          body: body(rid, i),
        });
        if (res.status === 200) {
          await res.arrayBuffer();
          ok++;
          latenciesMs.push(performance.now() - start);
        } else {
          const text = new TextDecoder().decode(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
          fail(`HTTP ${res.status} ${text.slice(0, 120)}`);
        }
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        fail(cause?.code ?? (err as Error).name);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const elapsed = (performance.now() - t0) / 1000;
  await dispatcher.close();
  return { ok, failed, reasons, seconds: elapsed, latenciesMs };
}

function merge(rs: Result[]): Result {
  return {
    ok: rs.reduce((a, r) => a + r.ok, 0),
    failed: rs.reduce((a, r) => a + r.failed, 0),
    reasons: rs.reduce<Record<string, number>>((acc, r) => {
      for (const [k, v] of Object.entries(r.reasons)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
    seconds: rs.reduce((a, r) => a + r.seconds, 0),
    latenciesMs: rs.flatMap((r) => r.latenciesMs),
  };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(r: Result) {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  return { rps: r.ok / r.seconds, p50: pct(sorted, 50), p99: pct(sorted, 99), ok: r.ok, failed: r.failed, reasons: r.reasons };
}

function spooled(origin: OriginProcess): number {
  const incoming = path.join(origin.dataDir, "spool", "incoming");
  let n = 0;
  for (const d of readdirSync(incoming)) n += readdirSync(path.join(incoming, d)).filter((f) => f.endsWith(".post")).length;
  return n;
}

async function main() {
  const started: { origins: OriginProcess[]; edges: EdgeProcess[] } = { origins: [], edges: [] };
  const stopAll = async () => {
    await Promise.all(started.edges.map((e) => e.stop().catch(() => {})));
    await Promise.all(started.origins.map(async (o) => {
      await o.stop().catch(() => {});
      o.cleanup();
    }));
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    process.stdout.write(`starting two origins and two edges (the Worker under Miniflare)…\n`);
    const secret = randomBytes(24).toString("hex");
    const env: Record<string, string> = { EDGE_SHARED_SECRET: secret, LOG_LEVEL: "error", QUOTAS_ENABLED: "false" };
    // fsyncs run on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise): passed
    // through so its effect on the spool can be measured.
    if (process.env.UV_THREADPOOL_SIZE) env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE;
    const [spoolOrigin, discardOrigin] = await Promise.all([
      startOriginProcess({ env }),
      startOriginProcess({ env: { ...env, INTAKE_DISCARD: "true" } }),
    ]);
    started.origins.push(spoolOrigin, discardOrigin);
    const [spoolEdge, discardEdge] = [
      await startEdgeProcess({ originUrl: spoolOrigin.url, edgeSecret: secret, noInspector: true, runtime: "miniflare" }),
      await startEdgeProcess({ originUrl: discardOrigin.url, edgeSecret: secret, noInspector: true, runtime: "miniflare" }),
    ];
    started.edges.push(spoolEdge, discardEdge);

    const targets: Record<string, Target> = {
      "edge+origin, fsynced spool": { name: "spool", url: spoolEdge.url, origin: spoolOrigin },
      "edge+origin, spool disabled": { name: "discard", url: discardEdge.url, origin: discardOrigin },
      "origin only, fsynced spool": { name: "spool", url: spoolOrigin.url, origin: spoolOrigin },
      "origin only, spool disabled": { name: "discard", url: discardOrigin.url, origin: discardOrigin },
    };
    // Warm-up: JIT, connections, the hour directory.
    for (const t of Object.values(targets)) await load(t.url, 1, 2000);

    const results: Record<string, Result[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
    const perRun = SECONDS / ROUNDS;
    const cap = Math.ceil(MAX_REQUESTS / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, t] of Object.entries(targets)) results[label]!.push(await load(t.url, perRun, cap));
    }

    const rows = Object.entries(results).map(([label, rs]) => ({ label, ...summary(merge(rs)) }));
    process.stdout.write(`\nintake: ${CONCURRENCY} concurrent clients, ${SECONDS} s per configuration (${ROUNDS} alternating rounds), ~6 KiB web_connectivity submissions, POST /report/{report_id}\n\n`);
    process.stdout.write(`${"configuration".padEnd(30)} ${"accepted/s".padStart(10)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"ok".padStart(7)} ${"failed".padStart(6)}\n`);
    for (const r of rows) {
      const why = r.failed ? `  (${Object.entries(r.reasons).map(([k, v]) => `${k}: ${v}`).join(", ")})` : "";
      process.stdout.write(`${r.label.padEnd(30)} ${r.rps.toFixed(0).padStart(10)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.ok).padStart(7)} ${String(r.failed).padStart(6)}${why}\n`);
    }
    const get = (l: string) => rows.find((r) => r.label === l)!;
    const ratio = get("edge+origin, fsynced spool").rps / get("edge+origin, spool disabled").rps;
    const direct = get("origin only, fsynced spool").rps / get("origin only, spool disabled").rps;
    process.stdout.write(`\nratio fsynced spool / spool disabled, through the edge: ${ratio.toFixed(2)} (goal ≥ 0.5)\n`);
    process.stdout.write(`ratio fsynced spool / spool disabled, origin only:     ${direct.toFixed(2)}\n`);
    process.stdout.write(`files in the spool: ${spooled(spoolOrigin)} (discarding origin: ${spooled(discardOrigin)})\n`);
    for (const o of [spoolOrigin, discardOrigin]) {
      const errors = o.logs.filter((l) => l.includes('"level":"error"'));
      if (errors.length) process.stdout.write(`origin errors (${errors.length}):\n${errors.slice(0, 5).join("\n")}\n`);
    }
    process.exitCode = ratio >= 0.5 ? 0 : 1;
  } finally {
    await stopAll();
  }
}

await main();
