import { describe, expect, inject, it } from "vitest";
import { addresses, bridge, bridgeConfig, fakes, uniqueName, type TestBridge } from "./support/bridge";

// Through the Worker, with real helpers on loopback and the cron trigger's active checks: when a
// helper goes down exactly its clients move, and when it comes back exactly they return.

const CONTROL = '{"http_request":"https://example.org/","http_request_headers":{},"tcp_connect":[]}';

async function assignment(b: TestBridge, ips: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const ip of ips) {
    const res = await b.probe(ip, CONTROL);
    expect(res.status).toBe(200);
    out.push(res.headers.get("x-ooni-helper")!);
    await res.arrayBuffer();
  }
  return out;
}

describe("health and stickiness through the Worker", () => {
  it("moves exactly the addresses of a helper the checks take down, and brings exactly them back", async () => {
    const name = uniqueName("health");
    const pool = await fakes.helpers(3, name);
    const b = bridge(
      bridgeConfig({ name, origin: { url: inject("originUrl") }, helpers: { pool: pool.map((h) => ({ ...h, weight: 1 })), check: { rise: 2, fall: 3 } } }),
    );
    const ips = addresses(300, 4242);
    const before = await assignment(b, ips);
    const victim = pool[1]!.id;
    const victims = before.filter((h) => h === victim).length;
    expect(victims).toBeGreaterThan(60);
    expect(victims).toBeLessThan(140);
    // The same addresses again: nobody changes helper.
    expect(await assignment(b, ips)).toEqual(before);

    // Health checks expect GET / → 200 "Hello OONItarian"; a 500 fails them. Three rounds (fall = 3).
    await fakes.setHelper(victim, "fail-500");
    await b.cron();
    await b.cron();
    expect((await b.status()).pool.find((h) => h.id === victim)!.state).toBe("up");
    await b.cron();
    const down = await b.status();
    expect(down.pool.find((h) => h.id === victim)).toMatchObject({ state: "down", expected_share: 0 });
    expect(down.pool.find((h) => h.id === victim)!.last_check).toMatchObject({ ok: false });

    const requestsBefore = (await fakes.helper(victim)).requests;
    const during = await assignment(b, ips);
    ips.forEach((ip, i) => {
      if (before[i] === victim) expect(during[i], `${ip} was on the helper that went down`).not.toBe(victim);
      else expect(during[i], `${ip} should not have moved`).toBe(before[i]);
    });
    // The helper marked down got no probe traffic at all (not even a first attempt).
    expect((await fakes.helper(victim)).requests).toBe(requestsBefore);

    await fakes.setHelper(victim, "ok");
    await b.cron();
    await b.cron(); // rise = 2
    expect((await b.status()).pool.find((h) => h.id === victim)!.state).toBe("up");
    expect(await assignment(b, ips)).toEqual(before);
  });

  it("drains a helper with weight 0: its addresses move, nobody else's", async () => {
    const name = uniqueName("drain");
    const pool = await fakes.helpers(3, name);
    const weighted = pool.map((h) => ({ ...h, weight: 1 }));
    const full = bridge(bridgeConfig({ name, origin: { url: inject("originUrl") }, helpers: { pool: weighted } }));
    const ips = addresses(200, 777);
    const before = await assignment(full, ips);

    const drainedId = pool[0]!.id;
    const drained = bridge(
      bridgeConfig({ name, origin: { url: inject("originUrl") }, helpers: { pool: weighted.map((h) => (h.id === drainedId ? { ...h, weight: 0 } : h)) } }),
    );
    const after = await assignment(drained, ips);
    let moved = 0;
    ips.forEach((_, i) => {
      if (before[i] === drainedId) {
        moved++;
        expect(after[i]).not.toBe(drainedId);
      } else expect(after[i]).toBe(before[i]);
    });
    expect(moved).toBeGreaterThan(30);
    expect((await drained.status()).pool.find((h) => h.id === drainedId)).toMatchObject({ state: "drained", expected_share: 0 });
  });
});
