// Check-in benchmark: POST /api/v1/check-in against GET /api/v1/test-helpers on the same origin
// process (embedded chDB, the real CitizenLab lists from the shared corpus when present, else the
// project fixture), at 1, 16 and 64 concurrent clients over loopback. Test-helpers is the baseline:
// a small answer computed from a config file, no database — check-in's cost over it is GeoIP, the
// prioritized URL list (from memory, docs/probe-services.md) and 21 report ids. Prints requests/s
// and p50/p99 of both per level and the ratio check-in / test-helpers; goals: ≥ 0.5× its requests/s
// and p99 ≤ 50 ms at 64 concurrent. The two alternate in 1 s slices so drift hits both alike. The
// origin's CPU time per request (from /proc) is printed too: on a shared machine requests/s and
// latency follow what else runs, CPU per request much less. So is the bench's own CPU per request:
// the client (lean-client.ts) must cost less than the origin, or it is the client being measured.
//
//   node --import tsx bench/checkin/run.ts
//   BENCH_SECONDS=6 BENCH_SLICE_S=1 BENCH_LEVELS=1,16,64 node --import tsx bench/checkin/run.ts
//   ORIGIN_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BENCH_LEVELS=64 node --import tsx bench/checkin/run.ts
//     (the origin writes a V8 CPU profile when it stops: where a request's time goes; add
//     BENCH_ENDPOINTS=check-in to load check-in alone)

import { existsSync, readFileSync } from "node:fs";
import { corpusPath } from "../../test/support/corpus";
import { repoRoot, startOriginProcess, type OriginProcess } from "../../test/support/origin-process";
import { encodeRequest, leanLoad } from "./lean-client";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const LEVELS = (process.env.BENCH_LEVELS ?? "1,16,64").split(",").map(Number);
// Each cell is run in slices of BENCH_SLICE_S seconds, check-in and test-helpers alternating: on a
// shared machine the CPU left to the origin swings within seconds, and short alternating slices
// let both endpoints see the same swings (two 3 s halves gave ratios from 0.27 to 0.5 run to run).
type Kind = "check-in" | "test-helpers";
// BENCH_ENDPOINTS=check-in loads only check-in (to profile it alone); the ratio needs both.
const KINDS = (process.env.BENCH_ENDPOINTS ?? "check-in,test-helpers").split(",") as Kind[];
const ROUNDS = Math.max(2, Math.round(SECONDS / Number(process.env.BENCH_SLICE_S ?? 1)));
const UA = "ooniprobe-android/3.8.0 ooniprobe-engine/3.22.0";

// A spread of countries and networks, as probes check in: big lists (IR, RU, CN), small ones, none.
const PROBES = [
  ["IR", "AS197207"], ["RU", "AS12389"], ["IT", "AS30722"], ["US", "AS7922"], ["CN", "AS4134"], ["BR", "AS28573"],
  ["IN", "AS55836"], ["DE", "AS3320"], ["TR", "AS9121"], ["MM", "AS9988"], ["VE", "AS8048"], ["ZZ", "AS0"],
] as const;

function checkInBody(i: number): string {
  const [cc, asn] = PROBES[i % PROBES.length]!;
  return JSON.stringify({
    charging: true, on_wifi: true, platform: "android", probe_asn: asn, probe_cc: cc, run_type: "timed",
    software_name: "ooniprobe-android", software_version: "3.8.0", web_connectivity: { category_codes: [] },
  });
}

/** CPU seconds (user + system) the process has used so far, from /proc (null where there is none). */
function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

interface Result {
  ok: number;
  /** The origin's CPU seconds during the run: what a request costs, whatever else runs on the machine. */
  cpu: number | null;
  /** The bench process's own CPU seconds: the client must cost less than the origin to measure it. */
  clientCpu: number;
  failed: Record<string, number>;
  seconds: number;
  latenciesMs: number[];
  bytes: number;
}

/** Pre-encoded requests per endpoint: check-ins cycle through the country/network pairs. */
function requestsFor(kind: Kind, host: string): Buffer[] {
  if (kind === "test-helpers") return [encodeRequest(host, "/api/v1/test-helpers", UA)];
  return PROBES.map((_, i) => encodeRequest(host, "/api/v1/check-in", UA, checkInBody(i)));
}

async function load(port: number, pid: number, kind: Kind, concurrency: number, seconds: number): Promise<Result> {
  const cpu0 = cpuSeconds(pid);
  const client0 = process.cpuUsage();
  const l = await leanLoad(port, requestsFor(kind, `127.0.0.1:${port}`), concurrency, seconds);
  const cpu1 = cpuSeconds(pid);
  const client = process.cpuUsage(client0);
  return {
    ...l,
    cpu: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
    clientCpu: (client.user + client.system) / 1e6,
  };
}

function merge(rs: Result[]): Result {
  const failed: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.failed)) failed[k] = (failed[k] ?? 0) + v;
  return {
    ok: rs.reduce((a, r) => a + r.ok, 0),
    cpu: rs.some((r) => r.cpu === null) ? null : rs.reduce((a, r) => a + r.cpu!, 0),
    clientCpu: rs.reduce((a, r) => a + r.clientCpu, 0),
    failed,
    seconds: rs.reduce((a, r) => a + r.seconds, 0),
    latenciesMs: rs.flatMap((r) => r.latenciesMs),
    bytes: rs.reduce((a, r) => a + r.bytes, 0),
  };
}

function summary(r: Result) {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
  const failed = Object.values(r.failed).reduce((a, n) => a + n, 0);
  const cpuMs = r.cpu === null || r.ok === 0 ? NaN : (r.cpu * 1000) / r.ok;
  const clientMs = r.ok === 0 ? NaN : (r.clientCpu * 1000) / r.ok;
  return { rps: r.ok / r.seconds, p50: pct(50), p99: pct(99), ok: r.ok, failed, reasons: r.failed, avgBytes: r.ok ? r.bytes / r.ok : 0, cpuMs, clientMs };
}

async function main() {
  const lists = corpusPath("citizenlab-test-lists");
  const real = existsSync(`${lists}/lists/global.csv`);
  let origin: OriginProcess | null = null;
  process.once("SIGINT", () => void origin?.stop().finally(() => process.exit(130)));
  try {
    process.stdout.write(`starting the origin (${real ? "CitizenLab lists from the corpus" : "fixture test list: the corpus is absent"})…\n`);
    origin = await startOriginProcess({
      env: {
        LOG_LEVEL: "error",
        QUOTAS_ENABLED: "false",
        TESTLISTS_BOOTSTRAP_DIR: real ? lists : `${repoRoot}/origin/fixtures/testlists`,
      },
      startTimeoutMs: 180_000,
    });
    const port = origin.port;
    const pid = origin.child.pid!;
    // Warm-up: JIT, connections, every country's view of the lists.
    for (const kind of KINDS) await load(port, pid, kind, 16, 1.5);

    const results = new Map<string, Result[]>();
    for (const level of LEVELS) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const kind of KINDS) {
          const key = `${kind}@${level}`;
          results.set(key, [...(results.get(key) ?? []), await load(port, pid, kind, level, SECONDS / ROUNDS)]);
        }
      }
    }

    const out = (s: string) => process.stdout.write(`${s}\n`);
    out(`\ncheck-in vs test-helpers, same origin, ${SECONDS} s per cell (${ROUNDS} alternating slices), ${PROBES.length} country/network pairs, charging (100 URLs)\n`);
    out(`${"endpoint".padEnd(14)} ${"clients".padStart(7)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"ok".padStart(7)} ${"failed".padStart(6)} ${"bytes".padStart(7)} ${"CPU ms/req".padStart(10)} ${"client ms/req".padStart(13)}`);
    const s = new Map<string, ReturnType<typeof summary>>();
    for (const level of LEVELS) {
      for (const kind of KINDS) {
        const r = summary(merge(results.get(`${kind}@${level}`)!));
        s.set(`${kind}@${level}`, r);
        const why = r.failed ? `  (${Object.entries(r.reasons).map(([k, v]) => `${k}: ${v}`).join(", ")})` : "";
        out(
          `${kind.padEnd(14)} ${String(level).padStart(7)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.ok).padStart(7)} ${String(r.failed).padStart(6)} ${r.avgBytes.toFixed(0).padStart(7)} ${r.cpuMs.toFixed(3).padStart(10)} ${r.clientMs.toFixed(3).padStart(13)}${why}`,
        );
      }
    }
    if (KINDS.length < 2) return;
    out(`\nratio check-in / test-helpers requests/s (goal ≥ 0.5):`);
    for (const level of LEVELS) {
      const c = s.get(`check-in@${level}`)!;
      const t = s.get(`test-helpers@${level}`)!;
      out(`  ${String(level).padStart(3)} concurrent: ${(c.rps / t.rps).toFixed(2)}   (p99 ${c.p99.toFixed(1)} ms vs ${t.p99.toFixed(1)} ms; origin CPU per request ${(c.cpuMs / t.cpuMs).toFixed(2)}×)`);
    }
    const top = Math.max(...LEVELS);
    const c = s.get(`check-in@${top}`)!;
    const ratio = c.rps / s.get(`test-helpers@${top}`)!.rps;
    const t = s.get(`test-helpers@${top}`)!;
    out(`\nat ${top} concurrent: ratio ${ratio.toFixed(2)} (goal ≥ 0.5) ${ratio >= 0.5 ? "met" : "NOT met"}; check-in p99 ${c.p99.toFixed(1)} ms (goal ≤ 50) ${c.p99 <= 50 ? "met" : "NOT met"}`);
    // With the origin CPU-bound (one core to itself), requests/s follow CPU per request: this is
    // the ratio the machine's other load does not move.
    out(`  ratio from origin CPU per request (test-helpers / check-in): ${(t.cpuMs / c.cpuMs).toFixed(2)}`);
    // Little's law: ${top} requests always in flight at this rate wait ${top}/rate on average, so
    // p99 ≤ 50 ms needs at least ${top}/0.05 requests/s even if every request waited the same.
    out(`  Little's law: ${top} in flight at ${c.rps.toFixed(0)}/s = ${((top / c.rps) * 1000).toFixed(1)} ms mean latency; p99 ≤ 50 ms needs > ${(top / 0.05).toFixed(0)}/s`);
    const errors = origin.logs.filter((l) => l.includes('"level":"error"'));
    if (errors.length) out(`origin errors (${errors.length}):\n${errors.slice(0, 5).join("\n")}`);
  } finally {
    await origin?.stop().catch(() => {});
    origin?.cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
