import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeProcess, type EdgeProcess } from "../contract/edge-process";
import { report } from "../support/reliability";

// Regression: with the origin unreachable (connection refused, as while it restarts), POSTs through
// the real Worker sometimes got a plain-text 503 ("Your worker restarted mid-request") instead of
// the JSON 502 — the Worker answered before it had read the client's body — and the body pipe
// logged uncaught errors. Every size, declared or chunked, must get the JSON 502.

let edge: EdgeProcess;

beforeAll(async () => {
  // Under Miniflare directly: wrangler dev's proxy in front of the Worker answers its own plain-text
  // 503 when its hop breaks (test/support/wrangler-dev-main.ts), which is not the Worker's answer.
  edge = await startEdgeProcess({ originUrl: "http://127.0.0.1:9", edgeSecret: randomBytes(24).toString("hex"), runtime: "miniflare" });
}, 120_000);

afterAll(async () => {
  await edge?.stop();
});

describe("POST to an unreachable origin through the edge", () => {
  it("answers every request with the JSON 502, whatever the body size or framing", async () => {
    const sizes = [10, 5_000, 600_000, 2_000_000];
    const answers = await Promise.all(
      Array.from({ length: 96 }, async (_, i) => {
        const size = sizes[i % sizes.length]!;
        const bytes = new Uint8Array(size).fill(120);
        const chunked = i % 3 === 0;
        const body = chunked
          ? new ReadableStream<Uint8Array>({
              start(c) {
                c.enqueue(bytes);
                c.close();
              },
            })
          : bytes;
        const res = await fetch(`${edge.url}/report/20240101T000000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          duplex: "half",
          signal: AbortSignal.timeout(20_000),
        } as RequestInit);
        return { size, chunked, status: res.status, type: res.headers.get("content-type"), text: await res.text() };
      }),
    );
    const wrong = answers.filter((a) => a.status !== 502 || !a.type?.startsWith("application/json") || !a.text.includes('"origin unreachable"'));
    report("edge-unreachable-origin", "POSTs while the origin refuses connections", { requests: answers.length, json_502: answers.length - wrong.length, wrong: wrong.length });
    expect(wrong.map((a) => `${a.size}${a.chunked ? " chunked" : ""}: ${a.status} ${a.text.slice(0, 80)}`)).toEqual([]);
  });
});
