import { describe, expect, it } from "vitest";
import { clientKey, clientNetwork } from "../../edge/src/balancer/client-key";
import { pickBest } from "../../edge/src/balancer/hrw";
import { compilePool, type CompiledPool } from "../../edge/src/balancer/pool";
import { addresses } from "./support/bridge";

// The selection the Worker makes for every test-helper request: client key from the address, then
// weighted rendezvous hashing over the usable helpers. These run inside workerd, like the Worker.

const key = new Uint32Array(2);

function choose(pool: CompiledPool, ip: string, usable: Uint8Array, v4 = 24, v6 = 48): string {
  clientKey(ip, v4, v6, key);
  const i = pickBest(pool, key[0]!, key[1]!, usable, null);
  return i < 0 ? "(none)" : pool.ids[i]!;
}

function all(pool: CompiledPool): Uint8Array {
  return pool.weighted.slice();
}

function without(pool: CompiledPool, id: string): Uint8Array {
  const u = all(pool);
  u[pool.index.get(id)!] = 0;
  return u;
}

const canaryPool = compilePool([
  { id: "th-1", url: "https://1.th.example", weight: 1 },
  { id: "th-2", url: "https://2.th.example", weight: 1 },
  { id: "th-3", url: "https://3.th.example", weight: 1 },
  { id: "th-0-canary", url: "https://0.th.example", weight: 1 / 3 },
]);

describe("weighted rendezvous hashing", () => {
  it("gives 10,000 random clients shares within ±1.5 points of the weights (1, 1, 1 and a 1/3 canary)", () => {
    const total = 3 + 1 / 3;
    const expected: Record<string, number> = { "th-1": 1 / total, "th-2": 1 / total, "th-3": 1 / total, "th-0-canary": 1 / 3 / total };
    for (const seed of [1, 20240214, 0xdecafbad]) {
      const ips = addresses(10_000, seed);
      const counts: Record<string, number> = {};
      for (const ip of ips) {
        const id = choose(canaryPool, ip, all(canaryPool));
        counts[id] = (counts[id] ?? 0) + 1;
      }
      for (const [id, share] of Object.entries(expected)) {
        const observed = (counts[id] ?? 0) / ips.length;
        expect(Math.abs(observed - share), `${id} with seed ${seed}: ${(observed * 100).toFixed(2)} % vs ${(share * 100).toFixed(2)} %`).toBeLessThanOrEqual(0.015);
      }
      // The canary gets about 10 %.
      expect((counts["th-0-canary"] ?? 0) / ips.length).toBeGreaterThan(0.085);
      expect((counts["th-0-canary"] ?? 0) / ips.length).toBeLessThan(0.115);
    }
  });

  it("always sends the same address to the same helper, whatever the order of the pool", () => {
    const reordered = compilePool([...canaryPool.ids].reverse().map((id, i) => ({ id, url: `https://${i}.example`, weight: canaryPool.weights[canaryPool.index.get(id)!]! })));
    for (const ip of addresses(2_000, 7)) {
      const first = choose(canaryPool, ip, all(canaryPool));
      expect(choose(canaryPool, ip, all(canaryPool))).toBe(first);
      expect(choose(reordered, ip, all(reordered))).toBe(first);
    }
  });

  it("moves exactly the clients of a helper that goes down, spreads them by weight, and brings exactly them back", () => {
    const pool = compilePool(["a", "b", "c"].map((id) => ({ id, url: `https://${id}.example`, weight: 1 })));
    const ips = addresses(10_000, 99);
    const before = ips.map((ip) => choose(pool, ip, all(pool)));
    const during = ips.map((ip) => choose(pool, ip, without(pool, "b")));
    const after = ips.map((ip) => choose(pool, ip, all(pool)));
    let moved = 0;
    const movedTo: Record<string, number> = {};
    ips.forEach((_, i) => {
      if (before[i] === "b") {
        expect(during[i]).not.toBe("b");
        moved++;
        movedTo[during[i]!] = (movedTo[during[i]!] ?? 0) + 1;
      } else {
        expect(during[i], "a client of another helper moved").toBe(before[i]);
      }
    });
    expect(after).toEqual(before);
    expect(moved / ips.length).toBeGreaterThan(0.3);
    expect(moved / ips.length).toBeLessThan(0.37);
    // b's clients split about evenly between a and c (the hashes of different helpers are independent).
    expect(Math.abs((movedTo.a ?? 0) - (movedTo.c ?? 0)) / moved).toBeLessThan(0.1);
  });

  it("weight 0 drains a helper: its clients move, nobody else does", () => {
    const live = ["a", "b", "c", "d"].map((id) => ({ id, url: `https://${id}.example`, weight: 1 }));
    const pool = compilePool(live);
    const drained = compilePool(live.map((h) => (h.id === "c" ? { ...h, weight: 0 } : h)));
    let movedCount = 0;
    for (const ip of addresses(5_000, 3)) {
      const was = choose(pool, ip, all(pool));
      const now = choose(drained, ip, all(drained));
      expect(now).not.toBe("c");
      if (was === "c") movedCount++;
      else expect(now).toBe(was);
    }
    expect(movedCount).toBeGreaterThan(1000);
  });

  it("lists the failover order: each next pick is the runner-up", () => {
    const pool = compilePool(["a", "b", "c", "d"].map((id) => ({ id, url: `https://${id}.example`, weight: 1 })));
    for (const ip of addresses(500, 11)) {
      clientKey(ip, 24, 48, key);
      const tried = new Uint8Array(pool.size);
      const order: string[] = [];
      for (;;) {
        const i = pickBest(pool, key[0]!, key[1]!, all(pool), tried);
        if (i < 0) break;
        tried[i] = 1;
        order.push(pool.ids[i]!);
      }
      expect(new Set(order).size).toBe(4);
      // The runner-up is whom the client gets when its first choice is down.
      expect(choose(pool, ip, without(pool, order[0]!))).toBe(order[1]);
    }
  });

  it("returns no helper when none is usable", () => {
    expect(choose(canaryPool, "192.0.2.1", new Uint8Array(canaryPool.size))).toBe("(none)");
  });
});

describe("client key", () => {
  it("keeps a /24 (IPv4) and a /48 (IPv6) network on one helper, and separates networks", () => {
    const pool = compilePool(Array.from({ length: 16 }, (_, i) => ({ id: `h${i}`, url: `https://h${i}.example`, weight: 1 })));
    for (let net = 0; net < 50; net++) {
      const v4 = Array.from({ length: 20 }, (_, host) => `198.51.${net}.${host * 12}`);
      expect(new Set(v4.map((ip) => choose(pool, ip, all(pool)))).size).toBe(1);
      const v6 = Array.from({ length: 20 }, (_, host) => `2001:db8:${net.toString(16)}:${(host * 977).toString(16)}::${host + 1}`);
      expect(new Set(v6.map((ip) => choose(pool, ip, all(pool)))).size).toBe(1);
    }
    // 256 different /24s do not all land on one helper.
    const spread = new Set(Array.from({ length: 256 }, (_, net) => choose(pool, `203.0.${net}.9`, all(pool))));
    expect(spread.size).toBeGreaterThan(12);
  });

  it("honours a configured prefix length", () => {
    const pool = compilePool(Array.from({ length: 16 }, (_, i) => ({ id: `h${i}`, url: `https://h${i}.example`, weight: 1 })));
    // With /32 every address is its own key: the hosts of one /24 spread out.
    const hosts = Array.from({ length: 64 }, (_, h) => `198.51.100.${h}`);
    expect(new Set(hosts.map((ip) => choose(pool, ip, all(pool), 32, 48))).size).toBeGreaterThan(8);
    // With /16 two different /24s of one /16 stay together.
    expect(choose(pool, "10.20.1.1", all(pool), 16, 48)).toBe(choose(pool, "10.20.200.7", all(pool), 16, 48));
  });

  it("reads every IPv6 spelling, and IPv4-mapped addresses as IPv4", () => {
    expect(clientNetwork("2001:0db8:0000:0000:0000:0000:0000:0001", 24, 48)).toBe("2001:db8:0:0:0:0:0:0/48");
    expect(clientNetwork("2001:db8::1", 24, 48)).toBe("2001:db8:0:0:0:0:0:0/48");
    expect(clientNetwork("2001:db8:aaaa:bbbb::", 24, 64)).toBe("2001:db8:aaaa:bbbb:0:0:0:0/64");
    expect(clientNetwork("::ffff:192.0.2.77", 24, 48)).toBe("192.0.2.0/24");
    expect(clientNetwork("192.0.2.77", 24, 48)).toBe("192.0.2.0/24");
    expect(clientNetwork("::", 24, 48)).toBe("0:0:0:0:0:0:0:0/48");
    const pool = compilePool(Array.from({ length: 16 }, (_, i) => ({ id: `h${i}`, url: `https://h${i}.example`, weight: 1 })));
    expect(choose(pool, "::ffff:192.0.2.77", all(pool))).toBe(choose(pool, "192.0.2.1", all(pool)));
    expect(choose(pool, "2001:db8::1", all(pool))).toBe(choose(pool, "2001:0DB8:0:0::ffff", all(pool)));
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", ":1", "1:"]) {
      expect(clientNetwork(bad, 24, 48), bad).toBeNull();
    }
  });
});
