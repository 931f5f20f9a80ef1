import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestHelperApp } from "../../origin/src/testhelper";
import { report, scale } from "../support/reliability";
import { startDohServer } from "../origin/testhelper/dns-server";
import { startHttpTarget, type Target } from "../origin/testhelper/fixtures";
import { anyJson, hostileString, mutatedObject, serializeJson } from "./openapi-arbitraries";
import { violation } from "./requests";
import { fuzzSeed, seedFor } from "./seed";

// The Web Connectivity test helper (a separate app, outside the OpenAPI document) fuzzed the same
// way: any method, path, headers and body. It stays offline: names resolve through a DoH server on
// loopback whose zone points at a local HTTP target (loopback allowed for tests) or at private
// addresses the helper refuses to connect to, and every other name is NXDOMAIN. Valid control
// requests therefore run a real, fast measurement.

const RUNS = scale(200, 10_000);
const SEED = fuzzSeed();

let doh: Awaited<ReturnType<typeof startDohServer>>;
let target: Target;
let app: ReturnType<typeof createTestHelperApp>;
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);

beforeAll(async () => {
  process.on("unhandledRejection", onEscape);
  target = await startHttpTarget();
  doh = await startDohServer({
    "target.test": { a: ["127.0.0.1"] },
    "private.test": { a: ["10.0.0.1"], aaaa: ["fd00::1"] },
    "broken.test": { rcode: 2 },
  });
  app = createTestHelperApp({
    dohUrl: doh.url,
    allowLoopback: true,
    dnsTimeoutMs: 500,
    tcpTlsTimeoutMs: 500,
    httpTimeoutMs: 1000,
    maxRequestBytes: 64 * 1024,
  });
});

afterAll(async () => {
  process.off("unhandledRejection", onEscape);
  await target?.close();
  await doh?.close();
});

const CONTROL_SCHEMA = {
  type: "object",
  properties: {
    http_request: { type: "string" },
    http_request_headers: { type: ["object", "null"], additionalProperties: { type: "array", items: { type: "string" } } },
    tcp_connect: { type: ["array", "null"], items: { type: "string" } },
    x_quic_enabled: { type: "boolean" },
  },
  required: ["http_request"],
};

describe("test helper", () => {
  it(`${RUNS} cases: no 5xx (but the documented load-shedding 503), JSON answers`, async () => {
    const host = fc.constantFrom("target.test", "private.test", "broken.test", "nxdomain.test", "127.0.0.1", "10.1.2.3", "[::1]", "[fd00::2]");
    const url = fc
      .tuple(fc.constantFrom("http", "https"), host, fc.boolean(), fc.constantFrom("/", "/r1", "/missing", "/?q=%00", "/%zz"))
      .map(([scheme, h, withPort, p]) => `${scheme}://${h}${withPort && h.includes("target") ? `:${target.port}` : ""}${p}`);
    const control = fc.record(
      {
        http_request: fc.oneof({ weight: 4, arbitrary: url }, { weight: 1, arbitrary: hostileString }),
        http_request_headers: fc.option(fc.dictionary(fc.constantFrom("User-Agent", "Accept", "Host", "X\u0000", "Cookie"), fc.option(fc.array(hostileString, { maxLength: 2 })), { maxKeys: 3 })),
        tcp_connect: fc.option(
          fc.array(fc.oneof(fc.constant(`127.0.0.1:${0}`), fc.constantFrom("10.0.0.1:443", "[fd00::1]:80", "[::1]:1", "127.0.0.1:99999", "x:y", ""), hostileString), { maxLength: 3 }),
        ),
        x_quic_enabled: fc.boolean(),
      },
      { requiredKeys: ["http_request"] },
    );
    const body = fc.oneof(
      { weight: 4, arbitrary: control.map((v) => JSON.stringify(v)) },
      { weight: 2, arbitrary: mutatedObject({}, CONTROL_SCHEMA).map(serializeJson) },
      { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? "") },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) },
      { weight: 1, arbitrary: control.map((v) => JSON.stringify(v).slice(0, -3)) },
    );
    const arb = fc.record({
      method: fc.constantFrom("POST", "POST", "POST", "POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"),
      path: fc.oneof(fc.constant("/"), hostileString.map((s) => `/${encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ""))}`)),
      body,
      ua: fc.constantFrom("ooniprobe-cli/3.22.0", "curl/8", "", "x".repeat(2000)),
    });
    const counts = { cases: 0, status2xx: 0, status4xx: 0, status5xx: 0, loadShed503: 0 };
    const t0 = performance.now();
    const LANES = 4;
    const settled = await Promise.allSettled(
      Array.from({ length: LANES }, (_, lane) =>
        fc.assert(
          fc.asyncProperty(arb, async (c) => {
            const hasBody = c.method !== "GET" && c.method !== "HEAD";
            const res = await app.request(c.path, {
              method: c.method,
              headers: { "content-type": "application/json", "user-agent": c.ua },
              body: hasBody ? c.body : undefined,
            });
            const text = await res.text();
            counts.cases++;
            if (res.status >= 200 && res.status < 300) counts.status2xx++;
            else if (res.status >= 400 && res.status < 500) counts.status4xx++;
            // Load shedding is the helper's documented answer when too many lanes are in flight.
            if (res.status === 503 && /too many requests in flight/.test(text)) {
              counts.loadShed503++;
              return;
            }
            if (res.status >= 500) counts.status5xx++;
            const bad = violation(c.method, { status: res.status, contentType: res.headers.get("content-type") ?? "", text });
            if (bad) throw new Error(`lane ${lane}: ${c.method} ${c.path}: ${bad}`);
            if (c.method !== "HEAD" && !(res.headers.get("content-type") ?? "").includes("json")) throw new Error(`not JSON: ${text.slice(0, 100)}`);
            if (escaped.length) throw new Error(`escaped error: ${String(escaped[0])}`);
          }),
          { numRuns: Math.ceil(RUNS / LANES), seed: seedFor(SEED, `testhelper#${lane}`) },
        ),
      ),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    report("fuzz", "testhelper (any method and path)", { ...counts, seconds: Math.round((performance.now() - t0) / 100) / 10 });
    expect(counts.status5xx).toBe(0);
  });
});
