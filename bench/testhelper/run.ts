// bench/testhelper: our web-connectivity test helper beside oohelperd (probe-cli's Go helper, built
// by test/interop/support/probe-cli.ts from the Go module proxy), in one run, against the same
// fast local target: 1, 16 and 64 concurrent clients each sending the control request a probe
// sends for http://localhost:<port>/ (a DNS lookup, a TCP connect, an HTTP GET).
// Prints successful answers/s, p50/p99 latency (of successful answers), helper CPU per answer,
// peak RSS of each helper, failed answers, and ours ÷ oohelperd. Ours runs as deployed: the lean
// entry bundled by `npm run build`, plain node (see startOurs for the knobs).
//
//   node --import tsx bench/testhelper/run.ts            # 5 s warm-up, 10 s per level
//   BENCH_SECONDS=30 BENCH_LEVELS=1,16 BENCH_WARMUP_SECONDS=5 node --import tsx bench/testhelper/run.ts
//   BENCH_NODE_FLAGS="--max-semi-space-size=1" …   # other node flags for ours ("" for none)
//   BENCH_OURS=tsx …                              # ours under tsx instead of the bundle
//   BENCH_LOG_LEVEL=debug …                       # ours' LOG_LEVEL (default info, as deployed)
//
// Loopback only. oohelperd runs with the interop patches on (system resolver; loopback counted as
// public, else it would refuse the local target), ours with OONI_EDGE_TESTHELPER_ALLOW_LOOPBACK=1
// (its tests-only switch). Both with their production load shedding (503 past 25 in flight).
// Run it under `flock /tmp/interop.lock` when others on the machine run the interop suite.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { createInterface } from "node:readline";
import { Agent, request } from "undici";
import { ensureProbeCli } from "../../test/interop/support/probe-cli";
import { startOohelperd } from "../../test/interop/support/oohelperd";
import { buildTestHelper, TESTHELPER_NODE_FLAGS } from "../../scripts/build-testhelper";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/**
 * Both helpers are warmed up before the first level (4 concurrent clients): a helper runs for days,
 * and without this ours would spend its first level's seconds in V8's optimising compiler — Go has
 * no such phase. Each level has its own 1 s warm-up on top.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const LEVELS = (process.env.BENCH_LEVELS ?? "1,16,64").split(",").map(Number);
const repoRoot = path.resolve(import.meta.dirname, "../..");

/** The fast local target: a small page, keep-alive. */
async function startTarget(): Promise<{ port: number; close(): Promise<void> }> {
  const body = `<!doctype html><html><head><title>Bench target</title></head><body>${"x".repeat(2000)}</body></html>`;
  const srv = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  srv.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as { port: number }).port,
    close: () => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))),
  };
}

/**
 * Ours as deployed: the lean entry (origin/src/testhelper/main.ts) bundled by `npm run build`, under
 * plain node with the flags `npm run testhelper` uses. BENCH_OURS=tsx runs the same entry under tsx
 * instead; BENCH_NODE_FLAGS replaces the node flags (space-separated; "" for none).
 */
async function startOurs(): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const flags = process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(" ").filter(Boolean) : TESTHELPER_NODE_FLAGS;
  const entry =
    process.env.BENCH_OURS === "tsx" ? ["--import", "tsx", path.join(repoRoot, "origin/src/testhelper/main.ts")] : [await buildTestHelper()];
  const args = [...flags, ...entry, "serve", "--port", "0"];
  console.error(`ours: node ${args.map((a) => path.relative(repoRoot, a) || a).join(" ")}`);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      // The production default (info: one log line per measurement) unless told otherwise.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
      // The target is on 127.0.0.1, which the helper otherwise refuses to dial (oohelperd gets the
      // same exemption from its interop patch).
      OONI_EDGE_TESTHELPER_ALLOW_LOOPBACK: "1",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (l) => {
      if (l.includes('"event":"listening"')) resolve((JSON.parse(l) as { url: string }).url);
    });
    child.once("exit", () => reject(new Error("our helper exited")));
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { url, child, stop: async () => (child.kill("SIGTERM"), await exited) };
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0);
  return { now: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

interface Result {
  /** Successful control answers (HTTP 200 with the target's status 200 inside) per second. */
  rps: number;
  sample: string;
  p50: number;
  p99: number;
  errors: number;
  peakRss: number;
  /** Helper CPU (user + system) per successful answer, ms: steadier than req/s on a shared machine. */
  cpuMsPerReq: number;
}

async function load(url: string, pid: number, concurrency: number, seconds: number, controlRequest: string): Promise<Result> {
  const agent = new Agent({ connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let errors = 0;
  let sample = "";
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid).now)), 100);
  const one = async () => {
    const t = performance.now();
    const res = await request(url, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json", "user-agent": "miniooni/bench" },
      body: controlRequest,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 || !text.includes('"status_code":200')) {
      errors++;
      sample ||= `${res.statusCode} ${text.slice(0, 300)}`;
      return;
    }
    latencies.push(performance.now() - t);
  };
  // Warm-up (connections, JIT), not counted.
  const warmEnd = Date.now() + 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < warmEnd) await one().catch(() => errors++);
  }));
  latencies.length = 0;
  errors = 0;
  sample = "";
  const start = performance.now();
  const cpu0 = cpuSeconds(pid);
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) await one().catch(() => errors++);
  }));
  const elapsed = (performance.now() - start) / 1000;
  const cpuMsPerReq = ((cpuSeconds(pid) - cpu0) * 1000) / Math.max(1, latencies.length);
  clearInterval(sampler);
  await agent.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { rps: latencies.length / elapsed, sample, p50: q(0.5), p99: q(0.99), errors, peakRss: Math.max(peak, rssMb(pid).now), cpuMsPerReq };
}

const bins = ensureProbeCli((l) => console.error(l));
const target = await startTarget();
const controlRequest = JSON.stringify({
  http_request: `http://localhost:${target.port}/`,
  http_request_headers: { "User-Agent": ["Mozilla/5.0"], Accept: ["text/html"] },
  tcp_connect: [`127.0.0.1:${target.port}`],
  x_quic_enabled: false,
});
const theirs = await startOohelperd(bins.oohelperd, { systemResolver: true, loopbackIsPublic: true });
const ours = await startOurs();
console.log(`bench/testhelper: ${WARMUP_SECONDS} s warm-up, ${SECONDS} s per level, levels ${LEVELS.join("/")}, target http://localhost:${target.port}/ (probe-cli ${bins.version})`);
console.log(`RSS when idle after start: ours ${rssMb(ours.child.pid!).now.toFixed(0)} MB, oohelperd ${rssMb(theirs.child.pid!).now.toFixed(0)} MB`);
console.log(`| concurrency | helper | req/s | p50 ms | p99 ms | CPU ms/req | peak RSS MB | errors |`);
console.log(`|---|---|---|---|---|---|---|---|`);
const ratios: string[] = [];
try {
  if (WARMUP_SECONDS > 0) {
    for (const [url, pid] of [[theirs.url, theirs.child.pid!], [ours.url, ours.child.pid!]] as const) await load(url, pid, 4, WARMUP_SECONDS, controlRequest);
  }
  for (const c of LEVELS) {
    // Alternate who goes first per level so neither always meets a warmer machine.
    const order = c % 2 === 0 ? (["oohelperd", "ours"] as const) : (["ours", "oohelperd"] as const);
    const res: Record<string, Result> = {};
    for (const who of order) {
      res[who] = await load(who === "ours" ? ours.url : theirs.url, (who === "ours" ? ours.child : theirs.child).pid!, c, SECONDS, controlRequest);
    }
    for (const who of ["oohelperd", "ours"] as const) {
      const r = res[who]!;
      console.log(
        `| ${c} | ${who} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuMsPerReq.toFixed(2)} | ${r.peakRss.toFixed(0)} | ${r.errors} |`,
      );
      if (r.sample) console.error(`  ${who} at ${c}: first failed answer: ${r.sample}`);
    }
    const a = res.ours!;
    const b = res.oohelperd!;
    const x = (n: number) => `${n.toFixed(2)}×`;
    ratios.push(`| ${c} | ${x(a.rps / b.rps)} | ${x(a.p50 / b.p50)} | ${x(a.p99 / b.p99)} | ${x(a.cpuMsPerReq / b.cpuMsPerReq)} | ${x(a.peakRss / b.peakRss)} |`);
  }
  console.log(`\nours ÷ oohelperd (goal: req/s ≥ 1.0×, p99 ≤ 1.2×, RSS ≤ 2×)`);
  console.log(`| concurrency | req/s | p50 | p99 | CPU/req | peak RSS |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const r of ratios) console.log(r);
  const peak = (pid: number) => rssMb(pid).peak;
  console.log(`\nprocess peak RSS (VmHWM): ours ${peak(ours.child.pid!).toFixed(0)} MB, oohelperd ${peak(theirs.child.pid!).toFixed(0)} MB`);
} finally {
  await ours.stop();
  await theirs.stop();
  await target.close();
}
