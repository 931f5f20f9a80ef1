import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

// The Worker fuzzed inside workerd (smaller than the origin's suite): any hostname, path, method,
// headers and body, through the default bridge configuration to the real test origin and the fake
// helpers. The Worker must never answer a 5xx of its own making; 502/503/504 (an upstream that
// failed or is unreachable) are allowed only as JSON. Every 4xx it or the origin sends is JSON.

const worker = exports.default;
const FULL = (globalThis as { process?: { env?: Record<string, string> } }).process?.env?.RELIABILITY_FULL === "1";
const RUNS = FULL ? 1_000 : 150;
const SEED = 20261129;

const hostile = fc.oneof(
  fc.constantFrom("", "..", "%", "%zz", "%00", "%2e%2e%2f", "a%2Fb", "\u00e9", "🙂", "x".repeat(3000), "api", "report", "apidocs", "robots.txt", "health"),
  fc.string({ maxLength: 30 }),
);

const hostname = fc.oneof(
  fc.constantFrom("api.example.org", "0.th.localhost", "3.th.localhost", "th.localhost.example", "127.0.0.1:8787", "[::1]", "xn--nxasmq6b.example", "a.b.c.d.e.f.example"),
  fc.domain(),
);

const path = fc.oneof(
  fc.constantFrom(
    "/",
    "/health",
    "/robots.txt",
    "/api/v1/measurements",
    "/api/v1/aggregation",
    "/api/_/countries",
    "/api/v1/check-in",
    "/report",
    "/api/v1/test-list/urls",
    "/apidocs",
    "/apispec.json",
    "/__bridge/status",
    "/metrics",
  ),
  fc.array(hostile, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.map((p) => (p.includes("%") ? p : encodeURIComponent(p))).join("/")}`),
);

const query = fc.option(fc.array(fc.tuple(hostile, hostile), { maxLength: 3 }).map((kv) => kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")));

const headerValue = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "").trim());
const headers = fc.array(
  fc.tuple(
    fc.constantFrom("authorization", "accept", "content-type", "content-encoding", "if-none-match", "x-forwarded-for", "cf-connecting-ip", "x-ooni-edge-auth", "origin", "cookie", "range", "x-request-id", "cache-control"),
    headerValue,
  ),
  { maxLength: 4 },
);

const body = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 200 }), fc.constant('{"http_request":"https://example.org/","tcp_connect":[]}'), fc.uint8Array({ maxLength: 100 }));

describe("edge Worker fuzz", () => {
  it(`${RUNS} requests: no 5xx from the Worker itself, JSON errors`, async () => {
    const counts = { cases: 0, status2xx: 0, status3xx: 0, status4xx: 0, upstream5xx: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.record({ method: fc.constantFrom("GET", "GET", "POST", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"), hostname, path, query, headers, body }),
        async (c) => {
          const url = `https://${c.hostname}${c.path}${c.query ? `?${c.query}` : ""}`;
          let req: Request;
          try {
            req = new Request(url, { method: c.method, headers: c.headers, body: c.method === "GET" || c.method === "HEAD" ? undefined : c.body });
          } catch {
            return; // no client could send it
          }
          const res = await worker.fetch(req);
          const text = await res.text();
          counts.cases++;
          const type = res.headers.get("content-type") ?? "";
          if (res.status >= 500) {
            expect([502, 503, 504], `${c.method} ${url}: ${res.status} ${text.slice(0, 200)}`).toContain(res.status);
            if (c.method !== "HEAD") expect(type, `${c.method} ${url}: ${text.slice(0, 200)}`).toContain("json");
            counts.upstream5xx++;
          } else if (res.status >= 400) {
            counts.status4xx++;
            if (c.method !== "HEAD") {
              expect(type, `${c.method} ${url}: ${res.status} ${text.slice(0, 200)}`).toContain("application/json");
              expect(typeof (JSON.parse(text) as { error?: unknown }).error, `${c.method} ${url}: ${text.slice(0, 200)}`).toBe("string");
            }
          } else if (res.status >= 300) counts.status3xx++;
          else counts.status2xx++;
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`[reliability] fuzz edge Worker: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    expect(counts.cases).toBeGreaterThan(RUNS * 0.8);
  }, 600_000);
});
