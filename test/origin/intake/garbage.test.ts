import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { compress } from "@mongodb-js/zstd";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { listFiles, measurement, openReport } from "./helpers";

// Garbage in: every answer is a 4xx JSON {"error": …}, never a 5xx, the process never dies, and
// nothing is written anywhere but complete measurements in the spool (none here).

const LIMIT = 100_000;
const marker = `pwned${randomBytes(4).toString("hex")}`;
let origin: OriginProcess;
let rid: string;
let before: string[];

beforeAll(async () => {
  origin = await startOriginProcess({ env: { MAX_SUBMISSION_BYTES: String(LIMIT) } });
  rid = await openReport(origin.url);
  before = listFiles(origin.dataDir);
});
afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

/** Raw HTTP, so paths reach the server exactly as written (fetch would normalize `..`). */
function raw(method: string, path: string, body: Buffer | string = "", headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; type: string | undefined }>((resolve, reject) => {
    const u = new URL(origin.url);
    const req = httpRequest(
      { host: u.hostname, port: u.port, method, path, headers: { "content-type": "application/json", ...headers } },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, type: res.headers["content-type"] }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function expect4xxJson(p: Promise<{ status: number; body: string; type: string | undefined }>, status?: number) {
  const r = await p;
  if (status !== undefined) expect(r.status, r.body).toBe(status);
  expect(r.status, r.body).toBeGreaterThanOrEqual(400);
  expect(r.status, r.body).toBeLessThan(500);
  expect(r.type).toMatch(/^application\/json/);
  const j = JSON.parse(r.body) as { error: unknown };
  expect(typeof j.error).toBe("string");
  return j;
}

const good = () => JSON.stringify({ format: "json", content: measurement(rid) });

describe("garbage submissions", () => {
  it.each([
    ["malformed JSON", "{\"format\":\"json\",", 400],
    ["a JSON string", '"hello"', 400],
    ["JSON null", "null", 400],
    ["an empty body", "", 400],
    ["content missing", '{"format":"json"}', 400],
    ["content of the wrong type", '{"format":"json","content":true}', 400],
    ["format of the wrong type", JSON.stringify({ format: 5, content: measurement(rid) }), 400],
    ["probe_asn of the wrong type", JSON.stringify({ format: "json", content: measurement(rid, { probe_asn: 30722 }) }), 400],
    ["test_name missing", JSON.stringify({ format: "json", content: measurement(rid, { test_name: undefined }) }), 400],
    ["a mismatched probe_cc", JSON.stringify({ format: "json", content: measurement(rid, { probe_cc: "DE" }) }), 400],
    ["a mismatched probe_asn", JSON.stringify({ format: "json", content: measurement(rid, { probe_asn: "AS1" }) }), 400],
    ["deeply nested JSON", `{"format":"json","content":${"[".repeat(20000)}${"]".repeat(20000)}}`, 400],
  ])("into a report: %s → 4xx JSON", async (_what, body, status) => {
    await expect4xxJson(raw("POST", `/report/${rid}`, body), status);
  });

  it("oversized bodies → 413, also when they only grow that big after decoding", async () => {
    const big = JSON.stringify({ format: "json", content: measurement(rid, { pad: "x".repeat(LIMIT) }) });
    expect((await expect4xxJson(raw("POST", `/report/${rid}`, big), 413)).error).toBe("request body too large");
    await expect4xxJson(raw("POST", `/report/${rid}`, gzipSync(big), { "content-encoding": "gzip" }), 413);
    await expect4xxJson(raw("POST", `/report/${rid}`, await compress(Buffer.from(big)), { "content-encoding": "zstd" }), 413);
    const bomb = await compress(Buffer.alloc(256 * 1024 * 1024, 0x20), 19);
    await expect4xxJson(raw("POST", "/api/v1/submit_measurement", bomb, { "content-encoding": "zstd" }), 413);
    await expect4xxJson(raw("POST", "/api/v1/submit_measurement", gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)), { "content-encoding": "gzip" }), 413);
  });

  it("broken gzip and zstd streams → 400, unknown encodings → 415", async () => {
    const body = Buffer.from(good());
    await expect4xxJson(raw("POST", `/report/${rid}`, body, { "content-encoding": "gzip" }), 400);
    await expect4xxJson(raw("POST", `/report/${rid}`, gzipSync(body).subarray(0, 30), { "content-encoding": "gzip" }), 400);
    await expect4xxJson(raw("POST", `/report/${rid}`, body, { "content-encoding": "zstd" }), 400);
    const z = await compress(body);
    await expect4xxJson(raw("POST", `/report/${rid}`, z.subarray(0, z.length - 4), { "content-encoding": "zstd" }), 400);
    await expect4xxJson(raw("POST", `/report/${rid}`, body, { "content-encoding": "br" }), 415);
  });

  it.each([
    `/report/..`,
    `/report/..%2F..%2F${marker}`,
    `/report/20240214T090617Z_webconnectivity_IT_30722_n1_..`,
    `/report/20240214T090617Z_webconnectivity_IT_30722_n1_a%2F..%2F..%2F${marker}`,
    `/report/20240214T090617Z_webconnectivity_IT_30722_n1_a%00b`,
    `/report/20240214T090617Z_webconnectivity_IT_30722_n1_%00`,
    `/report/20240214T090617Z_web%2Fconnectivity_IT_30722_n1_abc`,
    `/report/20240214T090617Z_webconnectivity_I%2F_30722_n1_abc`,
    `/report/20240214T090617Z_webconnectivity_IT_30722_n1_${marker}%2F..`,
    `/report/20240214T090617Z_webconnectivity_IT_30722_n1_%252F${marker}`,
    `/report/../../${marker}`,
    `/report/%2e%2e/${marker}`,
  ])("a report_id path like %s → 4xx JSON", async (p) => {
    await expect4xxJson(raw("POST", p, good()));
  });

  it("submit_measurement: wrong types and bad content → 4xx JSON", async () => {
    for (const body of [
      '{"format":"json","content":5}',
      '{"format":"json","content":"not json"}',
      '{"format":"json","content":"[1,2]"}',
      JSON.stringify({ format: "json", content: JSON.stringify(measurement(undefined, { probe_cc: "I" })) }),
      JSON.stringify({ format: "json", content: JSON.stringify(measurement(undefined, { test_name: `../${marker}` })) }),
      JSON.stringify({ format: "json", content: JSON.stringify(measurement(undefined, { report_id: `../${marker}` })) }),
      JSON.stringify({ format: "json", content: JSON.stringify(measurement(undefined, { software_version: "1\u0000" })) }),
    ]) {
      await expect4xxJson(raw("POST", "/api/v1/submit_measurement", body));
    }
  });

  it("random bodies and headers never produce a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
          fc.json().map((j) => Buffer.from(j)),
          fc.jsonValue().map((v) => Buffer.from(JSON.stringify({ format: "json", content: v }))),
          fc.record({ k: fc.constantFrom("probe_cc", "probe_asn", "test_name", "software_name", "report_id"), v: fc.jsonValue() }).map(({ k, v }) =>
            Buffer.from(JSON.stringify({ format: "json", content: measurement(rid, { [k]: v }) })),
          ),
        ),
        fc.constantFrom(undefined, "gzip", "zstd", "identity", "deflate"),
        fc.constantFrom(`/report/${rid}`, "/api/v1/submit_measurement"),
        async (body, encoding, target) => {
          const r = await raw("POST", target, body, encoding ? { "content-encoding": encoding } : {});
          expect(r.status, r.body).toBeLessThan(500);
          if (r.status !== 200) expect(typeof (JSON.parse(r.body) as { error: unknown }).error).toBe("string");
        },
      ),
      { numRuns: 150 },
    );
  });

  it("is still alive, and nothing was written anywhere but complete spool files", async () => {
    expect(origin.child.exitCode).toBeNull();
    const health = await raw("GET", "/health");
    expect(health.status).toBe(200);
    const added = listFiles(origin.dataDir).filter((f) => !before.includes(f));
    // The random-body property can hit a valid measurement; anything added must be such a file.
    for (const f of added) expect(f).toMatch(/^spool\/incoming\/\d{10}_IT_webconnectivity\/\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}\.post$/);
    for (const dir of [tmpdir(), repoRoot, origin.dataDir]) {
      expect(readdirSync(dir).filter((n) => n.includes(marker))).toEqual([]);
    }
    expect(listFiles(origin.dataDir).filter((f) => f.includes(marker))).toEqual([]);
  });
});
