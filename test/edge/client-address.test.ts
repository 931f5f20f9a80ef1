import { describe, expect, it } from "vitest";
import { FORWARDED_FOR_HEADER } from "#shared/edge-protocol";
import { bridge, bridgeConfig, fakes, uniqueName } from "./support/bridge";

// Production: Cloudflare overwrites CF-Connecting-IP, so the Worker may believe it. A local stack
// (npm start: LOCAL_CLIENT_ADDRESS=127.0.0.1) must not let a client pick its address either — it
// would rotate it past the per-network quotas. What the origin is told is what we check.

async function forwardedFor(localAddress: string | undefined, claimed: string[]): Promise<string[]> {
  const origin = await fakes.origin();
  const b = bridge(bridgeConfig({ name: uniqueName("client-addr"), origin: { url: origin.url } }));
  b.env.LOCAL_CLIENT_ADDRESS = localAddress;
  for (const ip of claimed) {
    const res = await b.fetch("https://bridge.example/api/v1/check-in", {
      method: "POST",
      headers: { "cf-connecting-ip": ip, "content-type": "application/json" },
      body: "{}",
    });
    await res.arrayBuffer();
  }
  const { requests } = await fakes.originHits(origin.id);
  return requests.map((r) => r.headers[FORWARDED_FOR_HEADER] ?? "(none)");
}

describe("the client address", () => {
  const claimed = ["198.51.100.7", "203.0.113.9", "2001:db8::1"];

  it("locally (LOCAL_CLIENT_ADDRESS): whatever CF-Connecting-IP a client sends, the origin is told the local address", async () => {
    expect(await forwardedFor("127.0.0.1", claimed)).toEqual(["127.0.0.1", "127.0.0.1", "127.0.0.1"]);
  });

  it("in production (no LOCAL_CLIENT_ADDRESS): CF-Connecting-IP, which Cloudflare itself sets", async () => {
    expect(await forwardedFor(undefined, claimed)).toEqual(claimed);
  });
});
