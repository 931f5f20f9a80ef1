// Edge benchmarks: `node --import tsx bench/edge/run.ts`.
//  1. HRW helper selection for 4, 16 and 64 helpers (ns per selection; goal ≤ 1 µs for 16), and the
//     client-key step (address → /24 or /48 → hash): the Worker's own modules, run by Node's V8
//     (workerd runs the same engine; tsx's module wrapper makes these figures slightly pessimistic).
//  2. Edge cache: latency of a HIT next to a MISS that goes to the origin, through `wrangler dev`
//     (workerd) on loopback, with a direct request to the origin as the baseline.
// Loopback only; everything it starts is stopped at the end (or after a hard time limit).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { renderWorkerConfig, validateBridgeConfig } from "../../bridge-config/load";
import { clientKey } from "../../edge/src/balancer/client-key";
import { pickBest } from "../../edge/src/balancer/hrw";
import { compilePool } from "../../edge/src/balancer/pool";
import { freePort } from "../../test/support/free-port";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const HARD_LIMIT_MS = 180_000;
const CACHE_SAMPLES = Number(process.env.BENCH_CACHE_SAMPLES ?? 300);

function benchHrw() {
  const KEYS = 100_000;
  const k0 = new Uint32Array(KEYS);
  const k1 = new Uint32Array(KEYS);
  for (let i = 0; i < KEYS; i++) {
    k0[i] = (Math.random() * 2 ** 32) >>> 0;
    k1[i] = (Math.random() * 2 ** 32) >>> 0;
  }
  console.log(`HRW selection (one pickBest over all helpers, equal weights, all up; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`);
  for (const n of [4, 16, 64]) {
    const pool = compilePool(Array.from({ length: n }, (_, i) => ({ id: `th-${i}`, url: `https://${i}.th.example`, weight: 1 })));
    const usable = pool.weighted.slice();
    let sink = 0;
    for (let i = 0; i < KEYS; i++) sink += pickBest(pool, k0[i]!, k1[i]!, usable, null); // warm-up
    // Wall time, and this process's CPU time: on a busy machine the wall clock also counts the
    // time spent waiting for a core, the CPU time does not.
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      for (let rep = 0; rep < 5; rep++) for (let i = 0; i < KEYS; i++) sink += pickBest(pool, k0[i]!, k1[i]!, usable, null);
      const used = process.cpuUsage(c);
      wall.push(Number(process.hrtime.bigint() - t) / (5 * KEYS));
      cpu.push(((used.user + used.system) * 1000) / (5 * KEYS));
    }
    wall.sort((a, c) => a - c);
    cpu.sort((a, c) => a - c);
    const goal = n === 16 ? `   goal ≤ 1000 ns: ${cpu[3]! <= 1000 ? "met" : "NOT met"}` : "";
    console.log(
      `  ${String(n).padStart(2)} helpers: ${cpu[3]!.toFixed(0).padStart(5)} ns CPU per selection (median of 7; wall median ${wall[3]!.toFixed(0)} ns, best ${wall[0]!.toFixed(0)} ns)${goal}   [${sink % 2}]`,
    );
  }
  const ips = Array.from({ length: 10_000 }, (_, i) =>
    i % 5 === 0 ? `2001:db8:${(i * 7).toString(16)}::${(i % 97).toString(16)}` : `${(i * 7) & 255}.${(i * 13) & 255}.${(i * 31) & 255}.${i & 255}`,
  );
  const out = new Uint32Array(2);
  for (const ip of ips) clientKey(ip, 24, 48, out);
  const c = process.cpuUsage();
  for (let rep = 0; rep < 50; rep++) for (const ip of ips) clientKey(ip, 24, 48, out);
  const used = process.cpuUsage(c);
  console.log(`  client key (parse CF-Connecting-IP, reduce to /24 or /48, hash; 80 % IPv4): ${(((used.user + used.system) * 1000) / (50 * ips.length)).toFixed(0)} ns CPU`);
}

function startOrigin(): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  // About the size of a small aggregation answer.
  const body = JSON.stringify({ v: 0, dimension_count: 1, result: Array.from({ length: 30 }, (_, i) => ({ measurement_start_day: `2024-01-${String(i + 1).padStart(2, "0")}`, anomaly_count: i, confirmed_count: 0, failure_count: 1, measurement_count: 100 + i, ok_count: 99 })) });
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits })));
}


async function timed(url: string, expectCache: string | null): Promise<number> {
  const t = process.hrtime.bigint();
  const res = await fetch(url);
  await res.arrayBuffer();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (res.status !== 200) throw new Error(`${url}: status ${res.status}`);
  if (expectCache !== null && res.headers.get("x-cache") !== expectCache) throw new Error(`${url}: X-Cache ${res.headers.get("x-cache")}, expected ${expectCache}`);
  return ms;
}

function summary(label: string, samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  console.log(`  ${label.padEnd(34)} p50 ${q(0.5).toFixed(2).padStart(6)} ms   p90 ${q(0.9).toFixed(2).padStart(6)} ms   mean ${mean.toFixed(2).padStart(6)} ms   (n=${s.length})`);
  return q(0.5);
}

async function benchCache(dir: string) {
  const origin = await startOrigin();
  const port = await freePort();
  const config = validateBridgeConfig(
    { version: 1, name: "bench", origin: { url: origin.url }, cache: { routes: [{ prefix: "/api/v1/aggregation" }] }, state: { sync_interval_ms: 5000 } },
    "bench",
  );
  const wrangler: ChildProcess = spawn(
    path.join(repoRoot, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--config", path.join(repoRoot, "wrangler.toml"),
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--var", `BRIDGE_CONFIG:${renderWorkerConfig(config)}`,
      "--persist-to", path.join(dir, "wrangler-state"),
      "--show-interactive-dev-session=false",
      "--log-level", "error",
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: ["ignore", "ignore", "inherit"],
      detached: true,
    },
  );
  const stop = () => {
    process.off("exit", stop);
    if (wrangler.pid !== undefined && wrangler.exitCode === null) {
      try {
        process.kill(-wrangler.pid, "SIGTERM");
      } catch {
        wrangler.kill("SIGTERM");
      }
    }
    origin.server.close();
    origin.server.closeAllConnections();
  };
  // However the bench ends (error, time limit, Ctrl-C, closed stdout), workerd goes too.
  process.on("exit", stop);
  try {
    const edge = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited with ${wrangler.exitCode}`);
      try {
        const r = await fetch(`${edge}/robots.txt`, { signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        if (r.ok) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error("wrangler dev did not start within 60 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    // Warm-up: isolate start, Durable Object, first cache writes.
    for (let i = 0; i < 30; i++) await timed(`${edge}/api/v1/aggregation?warm=${i}`, null);
    await timed(`${edge}/api/v1/aggregation?probe_cc=IT`, null);

    const direct: number[] = [];
    const hit: number[] = [];
    const miss: number[] = [];
    for (let i = 0; i < CACHE_SAMPLES; i++) {
      // Interleaved so that a slow moment of this shared machine hits all three alike.
      direct.push(await timed(`${origin.url}/api/v1/aggregation?probe_cc=IT`, null));
      hit.push(await timed(`${edge}/api/v1/aggregation?probe_cc=IT`, "HIT"));
      miss.push(await timed(`${edge}/api/v1/aggregation?probe_cc=IT&n=${i}`, "MISS"));
    }
    console.log(`\nEdge cache through wrangler dev (workerd) on loopback, ${CACHE_SAMPLES} samples each, interleaved`);
    const d = summary("origin directly (baseline)", direct);
    const h = summary("edge HIT (Cache API)", hit);
    const m = summary("edge MISS (→ origin, then stored)", miss);
    console.log(`  HIT / MISS: ${(h / m).toFixed(2)} of the miss latency; MISS − origin: ${(m - d).toFixed(2)} ms of edge work on a miss`);
    console.log(`  origin requests: ${origin.hits()} (expected ${CACHE_SAMPLES * 2 + 31}: baseline + misses + warm-up, none for hits)`);
  } finally {
    stop();
  }
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-bench-"));
  const limit = setTimeout(() => {
    console.error(`bench: still running after ${HARD_LIMIT_MS / 1000} s, giving up`);
    process.exit(1);
  }, HARD_LIMIT_MS);
  try {
    benchHrw();
    await benchCache(dir);
  } finally {
    clearTimeout(limit);
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => process.exit(130));
process.stdout.on("error", () => process.exit(1));

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
