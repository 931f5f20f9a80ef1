import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BridgeState } from "../../edge/src/state/durable-object";

// The bridge status page used to lose the current minute of helper counts whenever the Durable
// Object was evicted (issue 17: 79 shown, 98 served): counters were written at most once a minute.
// Here a second BridgeState is built on the same storage — what workerd does after an eviction —
// and must see every count the first one acknowledged.

const counters = (served: Record<string, number>, hit = 0) => ({ served, cache: { hit, stale: 0, miss: 0, bypass: 0 } });

describe("bridge state across an eviction", () => {
  it("keeps every counter an isolate handed over, including the current minute's", async () => {
    const stub = env.BRIDGE_STATE.get(env.BRIDGE_STATE.idFromName(`evict-${crypto.randomUUID()}`));
    const pool = { ids: ["a", "b"] };
    // Several syncs within one minute (the old code wrote only the first of them).
    await stub.sync(pool, counters({ a: 40 }, 3));
    await stub.sync(pool, counters({ a: 30, b: 10 }, 2));
    await stub.sync(pool, counters({ b: 18 }));
    const before = await stub.status(pool, null);
    expect(before.served).toEqual({ a: 70, b: 28 });

    await runInDurableObject(stub, async (_live, state) => {
      const reborn = new BridgeState(state, env as never);
      await reborn.loaded;
      const after = await reborn.status(pool, null);
      expect(after.served).toEqual({ a: 70, b: 28 });
      expect(after.cache.hit).toBe(5);
      // Health and the version survive too (they always did).
      expect(after.snapshot.version).toBe(before.snapshot.version);
      expect(after.helpers.map((h) => h.id)).toEqual(["a", "b"]);
    });
  });

  it("moves buckets an older version kept inside the state record to their own keys", async () => {
    const stub = env.BRIDGE_STATE.get(env.BRIDGE_STATE.idFromName(`legacy-${crypto.randomUUID()}`));
    const minute = Math.floor(Date.now() / 60_000);
    await runInDurableObject(stub, async (_live, state) => {
      await state.storage.put("state", {
        version: 3,
        started_at: Date.now(),
        health: {},
        generations: {},
        purges: {},
        failures: [],
        buckets: [{ minute, served: { a: 7 }, cache: { hit: 0, stale: 0, miss: 0, bypass: 0 } }],
      });
      const first = new BridgeState(state, env as never);
      await first.loaded;
      await first.sync({ ids: ["a"] }, counters({ a: 1 }));
      const second = new BridgeState(state, env as never);
      await second.loaded;
      expect((await second.status({ ids: ["a"] }, null)).served).toEqual({ a: 8 });
    });
  });
});
