import { describe, expect, it } from "vitest";
import { bridge, bridgeConfig, fakes, uniqueName } from "./support/bridge";

// Regression: the Worker once built the origin URL with new URL(path, origin), so a request for
// //other.host/x went to other.host — with the edge's shared secret. Whatever the path, requests
// leave only for the configured origin (test/security/edge.test.ts attacks the real Worker too).

describe("origin target", () => {
  it("a path naming another host still goes to the configured origin, never to that host", async () => {
    const origin = await fakes.origin();
    const other = await fakes.origin();
    const b = bridge(bridgeConfig({ name: uniqueName("target"), origin: { url: origin.url } }));
    const host = new URL(other.url).host;
    for (const p of [`//${host}/steal`, `/\\${host}/steal`, `///${host}/steal`]) {
      const res = await b.fetch(`https://bridge.example${p}`);
      await res.arrayBuffer();
    }
    const seen = await fakes.originHits(other.id);
    expect(seen.requests).toEqual([]);
    const mine = await fakes.originHits(origin.id);
    expect(mine.requests.length).toBe(3);
    for (const r of mine.requests) expect(r.headers["x-ooni-edge-auth"]).toBeDefined();
  });
});

describe("legacy helpers header", () => {
  it("carries the bridge's [legacy_helpers] to the origin, and never a client's own copy", async () => {
    const origin = await fakes.origin();
    const forged = JSON.stringify({ "tcp-echo": ["198.51.100.66"] });
    const plain = bridge(bridgeConfig({ name: uniqueName("legacy-none"), origin: { url: origin.url }, legacy_helpers: { tcp_echo: [], http_return_json_headers: [] } }));
    await (await plain.fetch("https://bridge.example/api/v1/test-helpers", { headers: { "x-ooni-bridge-legacy-helpers": forged } })).arrayBuffer();
    const withHelpers = bridge(
      bridgeConfig({
        name: uniqueName("legacy-some"),
        origin: { url: origin.url },
        legacy_helpers: { tcp_echo: ["203.0.113.9"], http_return_json_headers: ["http://203.0.113.9:8080/"] },
      }),
    );
    await (await withHelpers.fetch("https://bridge.example/api/v1/test-helpers", { headers: { "x-ooni-bridge-legacy-helpers": forged } })).arrayBuffer();
    const seen = (await fakes.originHits(origin.id)).requests;
    expect(seen).toHaveLength(2);
    expect(seen[0]!.headers["x-ooni-bridge-legacy-helpers"]).toBeUndefined();
    expect(JSON.parse(seen[1]!.headers["x-ooni-bridge-legacy-helpers"]!)).toEqual({
      "tcp-echo": ["203.0.113.9"],
      "http-return-json-headers": ["http://203.0.113.9:8080"],
    });
  });
});
