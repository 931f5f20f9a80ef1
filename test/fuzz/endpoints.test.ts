import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { offlineApp } from "../../origin/src/openapi/offline-app";
import { openApiDocument } from "../../origin/src/openapi/document";
import { report, scale } from "../support/reliability";
import { startFuzzOrigin, type FuzzOrigin } from "./app-under-test";
import { honoPath, operationsOf, type Operation } from "./operations";
import { caseArb, materialize, violation } from "./requests";
import { fuzzSeed, seedFor } from "./seed";

// Every operation of the origin, enumerated from the OpenAPI document the app generates (plus the
// few routes outside it), fuzzed in process against real services: the answer is never a 5xx,
// every 4xx is JSON with a string "error", every 2xx body parses as its content-type says, and
// nothing escapes as an unhandled rejection or exception.

// FUZZ_RUNS overrides both scales (e.g. for a long soak of one operation with -t).
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : scale(100, 10_000);
const SEED = fuzzSeed();
const LANES = Math.max(1, Number(process.env.FUZZ_LANES ?? 4));
const DEBUG = process.env.FUZZ_DEBUG === "1"; // print the commonest error answers per operation

// Enumerated at collection time from the app built offline (the same routes and schemas).
const OPS: Operation[] = operationsOf(openApiDocument(offlineApp()));
const opName = (op: Operation) => `${op.method} ${op.path}`;
// FUZZ_SHARD=k/n fuzzes every n-th operation from the k-th (0-based), so a full run can be spread
// over several processes (each with its own chDB); coverage is still checked against all of them.
const SHARD = /^(\d+)\/(\d+)$/.exec(process.env.FUZZ_SHARD ?? "0/1");
if (!SHARD || Number(SHARD[1]) >= Number(SHARD[2])) throw new Error("FUZZ_SHARD must be k/n with 0 <= k < n");
const FUZZED_OPS = OPS.filter((_, i) => i % Number(SHARD[2]) === Number(SHARD[1]));

let o: FuzzOrigin;
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);
const totals = { cases: 0, unsendable: 0, status2xx: 0, status3xx: 0, status4xx: 0, status5xx: 0, operations: 0 };
const fuzzed = new Set<string>();

beforeAll(async () => {
  console.log(`[fuzz] seed ${SEED} (FUZZ_SEED=${SEED} to reproduce), ${RUNS} runs per operation in ${LANES} lanes, ${OPS.length} operations`);
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
  o = await startFuzzOrigin();
});

afterAll(async () => {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
  await o?.close();
  if (fuzzed.size) report("fuzz", "total", { ...totals });
});

describe("coverage", () => {
  it("every route the app registers is an enumerated operation (a new route is fuzzed automatically)", async () => {
    const origin = o;
    const known = new Set(OPS.map((op) => `${op.method} ${honoPath(op.path)}`));
    // The live app's document matches the offline one the operations were enumerated from.
    expect(operationsOf(origin.doc).map(opName).sort()).toEqual(OPS.map(opName).sort());
    const routes = origin.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`);
    const missing = [...new Set(routes)].filter((r) => !known.has(r) && !(r.startsWith("HEAD ") && known.has(r.replace("HEAD", "GET"))));
    expect(missing, "routes with no fuzzer: add them to NON_OPENAPI in test/fuzz/operations.ts or to the OpenAPI document").toEqual([]);
  });
});

describe.each(FUZZED_OPS.map((op) => [opName(op), op] as const))("fuzz %s", (name, op) => {
  it(`${RUNS} cases: no 5xx, JSON errors, parseable bodies`, async () => {
    const counts = { cases: 0, unsendable: 0, status2xx: 0, status3xx: 0, status4xx: 0, status5xx: 0 };
    const t0 = performance.now();
    const errors = new Map<string, number>();
    // Several independent lanes in flight at once (each its own seed): chDB and the event loop
    // overlap work, about 2-3× the throughput of one lane, and requests race as they do in production.
    const settled = await Promise.allSettled(
      Array.from({ length: LANES }, (_, lane) =>
        fc.assert(
          fc.asyncProperty(caseArb(o.doc, o.seeds, op), async (c) => {
            const req = await materialize(c);
            if (!req) {
              counts.unsendable++;
              return;
            }
            const res = await o.app.fetch(req);
            const text = await res.text();
            counts.cases++;
            const bucket = `status${Math.floor(res.status / 100)}xx` as keyof typeof counts;
            if (bucket in counts) counts[bucket]++;
            if (DEBUG && res.status >= 400) {
              const key = `${res.status} ${text.slice(0, 90)}`;
              errors.set(key, (errors.get(key) ?? 0) + 1);
            }
            const bad = violation(c.method, { status: res.status, contentType: res.headers.get("content-type") ?? "", text });
            if (bad) throw new Error(`lane ${lane}: ${c.method} ${c.url}: ${bad}`);
            if (escaped.length) throw new Error(`escaped error: ${String(escaped[0])}`);
          }),
          { numRuns: Math.ceil(RUNS / LANES), seed: seedFor(SEED, `${name}#${lane}`), endOnFailure: !process.env.FUZZ_SHRINK },
        ),
      ),
    );
    // Every lane finishes before the test does, so a failing lane's siblings do not spill into the next operation.
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    if (DEBUG) console.log([...errors].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([k, n]) => `  ${n}× ${k}`).join("\n"));
    fuzzed.add(name);
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) totals[k] += counts[k];
    totals.operations++;
    report("fuzz", name, { ...counts, seconds: Math.round((performance.now() - t0) / 100) / 10 });
    expect(counts.status5xx).toBe(0);
    expect(counts.cases + counts.unsendable).toBeGreaterThanOrEqual(RUNS);
    expect(counts.cases).toBeGreaterThan(RUNS * 0.9); // almost every case was a sendable request
  });
});
