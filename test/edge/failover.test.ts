import { beforeAll, describe, expect, inject, it } from "vitest";
import { bridge, bridgeConfig, fakes, uniqueName, TOKENS, type FakeHelperRef, type HelperMode, type TestBridge } from "./support/bridge";

// A probe's request to a helper that fails — before answering, half-way through its answer, with a
// 5xx, by refusing connections, or by hanging — is sent again, byte for byte, to the next helper in
// the client's HRW order, and the probe gets that helper's 200.

const CONTROL = '{"http_request":"https://example.org/","http_request_headers":{"Accept":["*/*"]},"tcp_connect":["93.184.216.34:443"],"x_quic_enabled":false}';
const MiB = 1 << 20;

async function route(b: TestBridge, ip: string): Promise<string[]> {
  const res = await b.fetch(`https://x.example/__bridge/route?ip=${encodeURIComponent(ip)}`, { headers: { authorization: `Bearer ${TOKENS.status}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { failover_order: string[] }).failover_order;
}

describe("failover between test helpers", () => {
  let helpers: FakeHelperRef[];
  let b: TestBridge;

  beforeAll(async () => {
    const name = uniqueName("failover");
    helpers = await fakes.helpers(3, name);
    b = bridge(
      bridgeConfig({
        name,
        origin: { url: inject("originUrl") },
        helpers: {
          pool: helpers.map((h) => ({ ...h, weight: 1 })),
          attempt_timeout_ms: 1500,
          // High enough that these failures never take a helper out: each case starts from a full pool.
          check: { fall: 100 },
        },
      }),
    );
  });

  const modes: HelperMode[] = ["reset", "reset-mid-body", "fail-500", "busy-503", "refuse", "hang"];
  for (const mode of modes) {
    it(`gives the probe the next helper's 200 when its helper fails with "${mode}"`, async () => {
      const ip = `198.51.${modes.indexOf(mode) + 10}.7`;
      const [first, second] = await route(b, ip);
      const before = await b.probe(ip, CONTROL);
      expect(before.headers.get("x-ooni-helper")).toBe(first);
      await before.arrayBuffer();

      await fakes.setHelper(first!, mode);
      try {
        const res = await b.probe(ip, CONTROL);
        expect(res.status).toBe(200);
        expect(res.headers.get("x-ooni-helper")).toBe(second);
        expect(res.headers.get("x-ooni-helper-attempts")).toBe("2");
        // The second helper got the very same request body.
        expect(await res.json()).toEqual({ helper: second, method: "POST", path: "/", received_bytes: CONTROL.length, received: CONTROL });
      } finally {
        await fakes.setHelper(first!, "ok");
      }
      await b.settle();
    });
  }

  it("keeps a client network on its helper", async () => {
    const seen = new Set<string | null>();
    for (let host = 1; host < 30; host++) {
      const res = await b.probe(`203.0.113.${host}`, CONTROL);
      expect(res.status).toBe(200);
      seen.add(res.headers.get("x-ooni-helper"));
      await res.arrayBuffer();
    }
    expect(seen.size).toBe(1);
  });

  it("tells helpers nothing about the client but what the probe sent", async () => {
    const ip = "192.0.2.200";
    const [first] = await route(b, ip);
    const res = await b.fetch("https://x.example/", {
      method: "POST",
      body: CONTROL,
      headers: { "cf-connecting-ip": ip, "x-forwarded-for": "10.9.9.9", cookie: "a=b", "user-agent": "ooniprobe-android/3.9.0 ooniprobe-engine/3.31.0", "content-type": "application/json" },
    });
    await res.arrayBuffer();
    const seen = await fakes.helper(first!);
    expect(seen.last_headers!["user-agent"]).toBe("ooniprobe-android/3.9.0 ooniprobe-engine/3.31.0");
    expect(seen.last_headers!["content-type"]).toBe("application/json");
    for (const h of ["x-forwarded-for", "cf-connecting-ip", "cookie", "x-ooni-edge-auth"]) expect(seen.last_headers![h]).toBeUndefined();
  });

  it("answers 502 JSON naming every attempt when no helper answers", async () => {
    for (const h of helpers) await fakes.setHelper(h.id, "fail-500");
    try {
      const res = await b.probe("192.0.2.1", CONTROL);
      expect(res.status).toBe(502);
      const body = (await res.json()) as { error: string; attempts: { helper: string; error: string }[] };
      expect(body.error).toBe("no test helper answered");
      expect(body.attempts.map((a) => a.helper).sort()).toEqual(helpers.map((h) => h.id).sort());
      expect(body.attempts.every((a) => a.error === "status")).toBe(true);
    } finally {
      for (const h of helpers) await fakes.setHelper(h.id, "ok");
    }
    await b.settle();
  });

  it("stops at the probe's time budget with a 504 JSON", async () => {
    const name = uniqueName("budget");
    const slow = await fakes.helpers(3, name);
    for (const h of slow) await fakes.setHelper(h.id, "hang");
    const tight = bridge(
      bridgeConfig({
        name,
        origin: { url: inject("originUrl") },
        helpers: { pool: slow.map((h) => ({ ...h, weight: 1 })), attempt_timeout_ms: 800, budget_ms: 1200, check: { fall: 100 } },
      }),
    );
    const res = await tight.probe("192.0.2.9", CONTROL);
    expect(res.status).toBe(504);
    const body = (await res.json()) as { attempts: { error: string }[] };
    // 800 ms for the first helper, the remaining ~400 ms for the second, none for the third.
    expect(body.attempts.map((a) => a.error)).toEqual(["timeout", "timeout"]);
    for (const h of slow) await fakes.setHelper(h.id, "ok");
    await tight.settle();
  });

  it("buffers bodies up to 16 MiB and refuses larger ones with a 413 JSON", async () => {
    const ip = "192.0.2.77";
    const [first] = await route(b, ip);
    const exact = new Uint8Array(16 * MiB).fill(0x20);
    const ok = await b.fetch("https://x.example/", { method: "POST", body: exact, headers: { "cf-connecting-ip": ip } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ helper: first, received_bytes: 16 * MiB });

    const requestsBefore = (await fakes.helper(first!)).requests;
    const big = await b.fetch("https://x.example/", { method: "POST", body: new Uint8Array(16 * MiB + 1), headers: { "cf-connecting-ip": ip } });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: "request body too large", limit_bytes: 16 * MiB });

    // Without a Content-Length (chunked), the limit holds as the bytes arrive.
    const chunk = new Uint8Array(MiB);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 17) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const chunked = await b.fetch("https://x.example/", { method: "POST", body: stream, headers: { "cf-connecting-ip": ip } });
    expect(chunked.status).toBe(413);
    await chunked.arrayBuffer();
    // Neither oversized request reached a helper.
    expect((await fakes.helper(first!)).requests).toBe(requestsBefore);
  });
});

describe("passive health marking", () => {
  it("takes a helper out after `fall` failed probe requests, and active checks bring it back after `rise`", async () => {
    const name = uniqueName("passive");
    const pool = await fakes.helpers(3, name);
    const b = bridge(
      bridgeConfig({
        name,
        origin: { url: inject("originUrl") },
        helpers: { pool: pool.map((h) => ({ ...h, weight: 1 })), check: { fall: 2, rise: 2 } },
      }),
    );
    const ip = "100.64.10.10";
    const [first, second] = await route(b, ip);
    await fakes.setHelper(first!, "fail-500");

    for (let i = 0; i < 2; i++) {
      const res = await b.probe(ip, CONTROL);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ooni-helper")).toBe(second);
      expect(res.headers.get("x-ooni-helper-attempts")).toBe("2");
      await res.arrayBuffer();
      await b.settle(); // the failure report reaches the Durable Object
    }
    const status = await b.status();
    expect(status.pool.find((h) => h.id === first)).toMatchObject({ state: "down" });
    expect(status.recent_failures.filter((f) => f.helper === first && f.source === "passive" && f.kind === "status")).toHaveLength(2);

    // Now the failed helper is not even tried.
    const skipped = await b.probe(ip, CONTROL);
    expect(skipped.headers.get("x-ooni-helper")).toBe(second);
    expect(skipped.headers.get("x-ooni-helper-attempts")).toBe("1");
    await skipped.arrayBuffer();

    await fakes.setHelper(first!, "ok");
    await b.cron();
    expect((await b.status()).pool.find((h) => h.id === first)).toMatchObject({ state: "down" });
    await b.cron();
    expect((await b.status()).pool.find((h) => h.id === first)).toMatchObject({ state: "up" });
    const back = await b.probe(ip, CONTROL);
    expect(back.headers.get("x-ooni-helper")).toBe(first);
    await back.arrayBuffer();
  });

  it("does not take out a helper that sheds load (503): its probes go to the next helper meanwhile", async () => {
    const name = uniqueName("busy");
    const pool = await fakes.helpers(2, name);
    const b = bridge(bridgeConfig({ name, origin: { url: inject("originUrl") }, helpers: { pool: pool.map((h) => ({ ...h, weight: 1 })), check: { fall: 2 } } }));
    const ip = "100.64.20.20";
    const [first, second] = await route(b, ip);
    await fakes.setHelper(first!, "busy-503");
    for (let i = 0; i < 4; i++) {
      const res = await b.probe(ip, CONTROL);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ooni-helper")).toBe(second);
      await res.arrayBuffer();
    }
    await b.settle();
    const status = await b.status();
    expect(status.pool.find((h) => h.id === first)).toMatchObject({ state: "up", consecutive_failures: 0 });
    expect(status.recent_failures).toEqual([]);
    await fakes.setHelper(first!, "ok");
  });

  it("still tries helpers marked down when none is left up (panic mode)", async () => {
    const name = uniqueName("panic");
    const pool = await fakes.helpers(2, name);
    const b = bridge(
      bridgeConfig({ name, origin: { url: inject("originUrl") }, helpers: { pool: pool.map((h) => ({ ...h, weight: 1 })), check: { fall: 1, rise: 5 } } }),
    );
    for (const h of pool) await fakes.setHelper(h.id, "fail-500");
    await b.cron();
    expect((await b.status()).pool.map((h) => h.state)).toEqual(["down", "down"]);
    // One recovers, but the checks have not seen it yet: the probe still gets an answer.
    await fakes.setHelper(pool[1]!.id, "ok");
    const res = await b.probe("192.0.2.50", CONTROL);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ooni-helper")).toBe(pool[1]!.id);
    await res.arrayBuffer();
    await fakes.setHelper(pool[0]!.id, "ok");
  });
});
