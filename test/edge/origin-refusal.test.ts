import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { bridge, bridgeConfig, uniqueName } from "./support/bridge";

// Bodies over 1 MiB are streamed to the origin (edge/src/forward.ts). When the origin refuses such a
// body before reading it — 400 asn_0 for a report it will never accept, 413 for a declared length
// over its limit — its answer must reach the client: a probe retries a 502 forever, but drops a
// measurement on a 4xx. The real origin of the test run, the real Worker, inside workerd.

const MiB = 1 << 20;

/** A body of `size` bytes handed over in 64 KiB chunks, as a client's upload arrives. */
function chunked(size: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(chunk.length, size - sent);
      sent += n;
      controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

describe("the origin's early refusal of a streamed body reaches the client", () => {
  const b = bridge(bridgeConfig({ name: uniqueName("refusal"), origin: { url: inject("originUrl"), max_body_bytes: 200 * MiB } }));

  it("400 asn_0 for a report from AS0, before the body (2–60 MiB) is read: forwarded, not 502", async () => {
    const rid = "20240214T090617Z_webconnectivity_IT_0_n1_abcdefabcdefabcd";
    for (const size of [2 * MiB, 4 * MiB, 12 * MiB, 30 * MiB, 60 * MiB]) {
      const res = await b.fetch(`https://bridge.example/report/${rid}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(size) },
        body: chunked(size),
      });
      expect(res.status, `${size} bytes`).toBe(400);
      expect(await res.json()).toMatchObject({ error: "asn_0" });
    }
  });

  it("413 for a declared length over the origin's limit: forwarded with its JSON, not 502", async () => {
    const size = 60 * MiB; // over MAX_SUBMISSION_BYTES (50 MiB), under this bridge's 200 MiB
    const res = await b.fetch("https://bridge.example/api/v1/submit_measurement", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(size) },
      body: chunked(size),
    });
    expect(res.status).toBe(413);
    // The origin's own answer (its limit), not one the edge made up.
    expect(await res.json()).toMatchObject({ error: "request body too large", limit_bytes: 50 * MiB });
  });

  it("413 from a JSON route's small cap (user_register, 16 KiB) for a 2 MiB streamed body: the origin's JSON", async () => {
    const res = await b.fetch("https://bridge.example/api/v1/user_register", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(2 * MiB) },
      body: chunked(2 * MiB),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "request body too large", limit_bytes: 16 * 1024 });
  });
});
