// Anonymous-credentials benchmark: registrations/s (POST /api/v1/sign_credential) and
// verifications/s (POST /api/v1/submit_measurement with a valid proof) with p50/p99 latency, for
// our origin with 1 and with 2 ooniauth-py workers, beside the reference Python server
// (reference_server.py: upstream's per-request work over a stdlib HTTP server, one process) on the
// same requests in the same run. The reference is the baseline of every ratio.
//
// "Per core" is measured, not divided: operations per CPU-second that the server's processes used
// (utime + stime from /proc, the origin with its Python workers; the reference process), which
// holds on a shared, loaded machine where wall-clock rates swing with the neighbours' load.
//
// The origin runs with INTAKE_DISCARD=true (validates, verifies and answers, stores nothing) so the
// figure is the credential work, like the reference, which stores nothing either. Loopback only;
// bounded in count. Needs ooniauth-py (npm run anoncred:install).
//
//   node --import tsx bench/anoncred/run.ts
//   BENCH_REGISTRATIONS=2000 BENCH_SUBMISSIONS=200 BENCH_CONCURRENCY=4 node --import tsx bench/anoncred/run.ts

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { anonCredPython } from "../../test/support/anoncred-client";
import { startOriginProcess } from "../../test/support/origin-process";

const REGISTRATIONS = Number(process.env.BENCH_REGISTRATIONS ?? 1000);
const SUBMISSIONS = Number(process.env.BENCH_SUBMISSIONS ?? 120);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

interface Requests {
  public_parameters: string;
  secret_key: string;
  protocol_version: string;
  registrations: string[];
  submit_sets: { content: string; nym: string; request: string }[][];
}

interface Result {
  ok: number;
  failed: number;
  seconds: number;
  /** CPU seconds the server's processes used during the run. */
  cpu: number;
  p50: number;
  p99: number;
}

const TICK = 100; // USER_HZ: /proc times are in 1/100 s on Linux

/** The process and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kids = "";
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8");
    } catch {
      continue;
    }
    for (const k of kids.trim().split(/\s+/).filter(Boolean)) out.push(...tree(Number(k)));
  }
  return out;
}

/** utime + stime of the process tree, in seconds. */
function cpuOf(pid: number): number {
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // exited meanwhile
    }
  }
  return ticks / TICK;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

/** Sends every body once, CONCURRENCY at a time; `good` says whether an answer counts. */
async function drive(url: string, pid: number, bodies: string[], good: (status: number, json: any) => boolean): Promise<Result> {
  const latencies: number[] = [];
  const cpu0 = cpuOf(pid);
  let ok = 0;
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= bodies.length) return;
        const t = performance.now();
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: bodies[i] });
        const json = (await res.json()) as unknown;
        latencies.push(performance.now() - t);
        if (good(res.status, json)) ok++;
        else failed++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuOf(pid) - cpu0;
  latencies.sort((a, b) => a - b);
  return { ok, failed, seconds, cpu, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function startReference(python: string, dir: string): Promise<{ url: string; pid: number; stop(): void }> {
  writeFileSync(path.join(dir, "pp"), reqs.public_parameters);
  writeFileSync(path.join(dir, "sk"), reqs.secret_key);
  const child = spawn(python, [path.join(import.meta.dirname, "reference_server.py"), path.join(dir, "pp"), path.join(dir, "sk")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", (l) => resolve(Number(/^port (\d+)$/.exec(l)?.[1])));
    child.once("exit", (c) => reject(new Error(`reference server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

const python = anonCredPython();
if (!python) {
  console.error("ooniauth-py not installed: run `npm run anoncred:install` first");
  process.exit(1);
}

const dir = mkdtempSync(path.join(tmpdir(), "bench-anoncred-"));
console.log(`making ${REGISTRATIONS} registration requests and 3 × ${SUBMISSIONS} proofs with the reference client…`);
const made = spawnSync(python, [path.join(import.meta.dirname, "make_requests.py"), String(REGISTRATIONS), String(SUBMISSIONS), "3"], {
  encoding: "utf8",
  maxBuffer: 1 << 30,
});
if (made.status !== 0) throw new Error(`make_requests.py failed: ${made.stderr}`);
const reqs = JSON.parse(made.stdout) as Requests;
const ring = { versions: [{ version: "1", created: "2026-01-01T00:00:00Z", public_parameters: reqs.public_parameters, secret_key: reqs.secret_key }] };

const registerBodies = reqs.registrations.map((r) => JSON.stringify({ manifest_version: "1", credential_sign_request: r }));
const submitBodies = reqs.submit_sets.map((set) =>
  set.map((s) =>
    JSON.stringify({ format: "json", content: s.content, nym: s.nym, zkp_request: s.request, manifest_version: "1", protocol_version: reqs.protocol_version }),
  ),
);
const registered = (status: number, json: any) => status === 200 && typeof json.credential_sign_response === "string";
const verified = (status: number, json: any) => status === 200 && json.verification_status === "verified";

interface Row {
  name: string;
  reg: Result;
  sub: Result;
}
const rows: Row[] = [];

try {
  // Measured one target at a time, so none competes with another for the two cores.
  const ref = await startReference(python, dir);
  try {
    await drive(`${ref.url}/api/v1/sign_credential`, ref.pid, registerBodies.slice(0, 50), registered); // warm-up
    rows.push({
      name: "reference Python server (1 process)",
      reg: await drive(`${ref.url}/api/v1/sign_credential`, ref.pid, registerBodies, registered),
      sub: await drive(`${ref.url}/api/v1/submit_measurement`, ref.pid, submitBodies[0]!, verified),
    });
  } finally {
    ref.stop();
  }

  for (const [i, workers] of [1, 2].entries()) {
    const dataDir = path.join(dir, `origin-${workers}`);
    mkdirSync(path.join(dataDir, "secrets"), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dataDir, "secrets", "anoncred-keys.json"), JSON.stringify(ring), { mode: 0o600 });
    const origin = await startOriginProcess({
      dataDir,
      env: { ANONC_ENABLED: "true", ANONC_PYTHON: python, ANONC_WORKERS: String(workers), ANONC_TIMEOUT_MS: "60000", INTAKE_DISCARD: "true", QUOTAS_ENABLED: "false" },
    });
    try {
      const pid = origin.child.pid!;
      await drive(`${origin.url}/api/v1/sign_credential`, pid, registerBodies.slice(0, 50), registered); // warm-up
      rows.push({
        name: `ooni-edge origin, ${workers} worker${workers > 1 ? "s" : ""}`,
        reg: await drive(`${origin.url}/api/v1/sign_credential`, pid, registerBodies, registered),
        sub: await drive(`${origin.url}/api/v1/submit_measurement`, pid, submitBodies[i + 1]!, verified),
      });
    } finally {
      await origin.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const base = rows[0]!;
const rate = (r: Result) => r.ok / r.seconds;
const perCore = (r: Result) => r.ok / r.cpu;
const f = (n: number, d = 1) => n.toFixed(d);
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`\n${REGISTRATIONS} registrations and ${SUBMISSIONS} verified submissions per server, ${CONCURRENCY} clients, loopback; load average ${load}\n`);
for (const [label, pick] of [["registrations", (r: Row) => r.reg], ["verifications", (r: Row) => r.sub]] as const) {
  console.log(`${label.padEnd(37)} |   per s  per CPU-s (per core)  ratio |  p50 ms  p99 ms | failed`);
  for (const r of rows) {
    const x = pick(r);
    console.log(
      `${r.name.padEnd(37)} | ${f(rate(x)).padStart(7)}  ${f(perCore(x)).padStart(19)}  ${f(perCore(x) / perCore(pick(base)), 2).padStart(5)} | ${f(x.p50, 2).padStart(7)} ${f(x.p99, 2).padStart(7)} | ${x.failed}`,
    );
  }
  console.log("");
}
console.log("ratio: operations per CPU-second against the reference server in this run (> 1: cheaper than the reference).");
console.log("Our origin's CPU includes Node (HTTP, validation, parsing the measurement) and the Python workers.");
if (rows.some((r) => r.reg.failed + r.sub.failed > 0)) process.exitCode = 1;
