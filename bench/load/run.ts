// Load benchmark: probe-like clients (check-in, open report, submissions from the shared corpus,
// web-connectivity control requests, Explorer reads) against the whole system on loopback — the
// origin (embedded chDB, spool, fastpath), two real test helpers and the edge Worker in workerd
// under Miniflare (test/support/wrangler-dev-main.ts) — first straight to the origin and the helpers (the baseline), then the same load
// through the edge. Prints throughput and latency per kind for both and their ratio, errors,
// acknowledged vs stored measurements (spool and ClickHouse) and the origin's memory over time.
// Bounded in time (hard limit) and in requests; everything it starts is stopped at the end.
//
//   node --import tsx bench/load/run.ts [--clients 200] [--duration 180] [--baseline 30] [--think-ms 250]

import { parseArgs } from "node:util";
import { formatStats, memory, runLoad, stats, verifyRun, type LoadRun } from "../../test/support/load";
import { startLoadStack, type LoadStack } from "../../test/support/load-stack";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "200" },
    duration: { type: "string", default: "180" },
    baseline: { type: "string", default: "30" },
    "think-ms": { type: "string", default: "250" },
  },
});
const CLIENTS = Number(values.clients);
const DURATION_S = Number(values.duration);
const BASELINE_S = Number(values.baseline);
const THINK_MS = Number(values["think-ms"]);
for (const [k, v] of Object.entries({ CLIENTS, DURATION_S, BASELINE_S, THINK_MS })) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`bad value for ${k}: ${v}`);
}
const HARD_LIMIT_MS = (DURATION_S + BASELINE_S) * 1000 + 600_000;
process.env.WRANGLER_SEND_METRICS = "false";
process.env.WRANGLER_HIDE_BANNER = "true";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const out = (s: string) => process.stdout.write(`${s}\n`);
const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-");

function ratios(edge: LoadRun, direct: LoadRun) {
  const e = stats(edge);
  const d = stats(direct);
  out(`\nedge / direct (same clients, same mix; > 1 = the edge is slower or carries more)`);
  out(`  ${"kind".padEnd(20)} ${"req/s".padStart(7)} ${"p50".padStart(7)} ${"p99".padStart(7)}`);
  for (const k of [...Object.keys(e.byKind), "all"]) {
    const a = k === "all" ? e.all : e.byKind[k]!;
    const b = k === "all" ? d.all : d.byKind[k]!;
    out(`  ${k.padEnd(20)} ${f(a.rps / b.rps, 2).padStart(7)} ${f(a.p50 / b.p50, 2).padStart(7)} ${f(a.p99 / b.p99, 2).padStart(7)}`);
  }
}

function memoryLine(label: string, run: LoadRun) {
  const m = memory(run);
  const every = Math.max(1, Math.round(run.rss.length / 12));
  const series = run.rss.filter((_, i) => i % every === 0).map((s) => `${f(s.atS)}s:${f(s.mb)}`).join(" ");
  out(`origin RSS (${label}): max ${f(m.maxMb)} MB, final ${f(m.finalMb)} MB, last-third peak / middle-third peak ${f(m.lateGrowth, 2)}  [${series}]`);
}

async function main() {
  let stack: LoadStack | null = null;
  const timer = setTimeout(() => {
    out(`hard time limit (${HARD_LIMIT_MS / 1000} s) reached: stopping`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(2));
  }, HARD_LIMIT_MS);
  timer.unref();
  process.once("SIGINT", () => void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
  try {
    out(`starting origin, 2 test helpers and the edge (workerd under Miniflare)…`);
    stack = await startLoadStack();
    out(`load: ${CLIENTS} clients, think time ~${THINK_MS} ms; baseline ${BASELINE_S} s straight to origin/helpers, then ${DURATION_S} s through the edge`);
    const direct = await runLoad(stack, { clients: CLIENTS, durationS: BASELINE_S, via: "direct", thinkMs: THINK_MS });
    out(formatStats(`\nbaseline: straight to the origin and the helpers, ${f(direct.elapsedS)} s (${direct.measurementSource})`, stats(direct)));
    memoryLine("baseline", direct);
    const edge = await runLoad(stack, { clients: CLIENTS, durationS: DURATION_S, via: "edge", thinkMs: THINK_MS });
    out(formatStats(`\nthrough the edge, ${f(edge.elapsedS)} s`, stats(edge)));
    memoryLine("edge run", edge);
    ratios(edge, direct);

    const acks = [...direct.ledger.acks, ...edge.ledger.acks];
    const errors = stats(direct).all.errors + stats(edge).all.errors;
    const ledger = direct.ledger;
    for (const a of edge.ledger.acks) ledger.add(a);
    const stored = await verifyRun(stack, ledger);
    out(`\nmeasurements: acknowledged ${stored.acknowledged}, stored ${stored.stored} (spool ${stored.in_spool}, ClickHouse ${stored.in_clickhouse}), duplicates ${stored.duplicates}, unacknowledged copies ${stored.unacknowledged_copies}; fastpath caught up ${stored.fastpathCatchUpMs} ms after the load`);
    out(`errors: ${errors}${errors ? ` — ${[...stats(direct).errorSamples, ...stats(edge).errorSamples].slice(0, 5).join("; ")}` : ""}; gave up: ${direct.gaveUp.length + edge.gaveUp.length}`);
    if (stored.problems.length) out(`problems: ${stored.problems.join("; ")}`);
    const gaveUp = direct.gaveUp.length + edge.gaveUp.length;
    const ok =
      errors === 0 &&
      gaveUp === 0 &&
      stored.stored === acks.length &&
      stored.duplicates === 0 &&
      stored.unacknowledged_copies === 0 &&
      stored.problems.length === 0;
    out(ok ? "OK: no errors (every request answered 200), nothing lost, no duplicates" : "NOT OK");
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stack?.stop();
    clearTimeout(timer);
  }
}

await main();
