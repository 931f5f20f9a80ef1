import { beforeAll, describe, expect, it } from "vitest";
import { bridge, bridgeConfig, fakes, uniqueName, TOKENS, type TestBridge } from "./support/bridge";

// The edge cache in front of a fake origin that counts requests, answers with chosen headers and
// goes down on command. What a client sees: the X-Cache marker, the body, and how often the origin
// was asked.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ROUTES = [
  { prefix: "/api/v1/aggregation", stale_while_revalidate_s: 0, stale_if_error_s: 600 },
  { prefix: "/api/_/", stale_while_revalidate_s: 600, stale_if_error_s: 600 },
  { prefix: "/api/v1/measurements", stale_while_revalidate_s: 0, stale_if_error_s: 0 },
];

interface Setup {
  b: TestBridge;
  origin: { id: string; url: string };
  hits(url: string): Promise<number>;
}

async function setup(extra: { origin?: { timeout_ms?: number; max_body_bytes?: number } } = {}): Promise<Setup> {
  const origin = await fakes.origin();
  const b = bridge(bridgeConfig({ name: uniqueName("cache"), origin: { url: origin.url, timeout_ms: 1000, ...extra.origin }, cache: { routes: ROUTES } }));
  return { b, origin, hits: async (url) => (await fakes.originHits(origin.id)).hits[url] ?? 0 };
}

async function get(b: TestBridge, url: string, headers: Record<string, string> = {}) {
  const res = await b.fetch(url, { headers });
  return { res, status: res.status, cache: res.headers.get("x-cache"), body: await res.text() };
}

describe("edge cache", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });

  it("answers the second identical aggregation GET from the cache; the origin sees one request", async () => {
    const url = "https://api.example.org/api/v1/aggregation?probe_cc=IT&since=2024-01-01&axis_x=measurement_start_day";
    const first = await get(s.b, url);
    expect(first).toMatchObject({ status: 200, cache: "MISS" });
    const second = await get(s.b, url);
    expect(second).toMatchObject({ status: 200, cache: "HIT", body: first.body });
    expect(second.res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(Number(second.res.headers.get("age"))).toBeGreaterThanOrEqual(0);
    expect(await s.hits("/api/v1/aggregation?probe_cc=IT&since=2024-01-01&axis_x=measurement_start_day")).toBe(1);
  });

  it("normalizes keys: parameter order, tracking parameters and the hostname do not matter", async () => {
    const a = await get(s.b, "https://one.example/api/v1/aggregation?b=2&a=1&a=0");
    expect(a.cache).toBe("MISS");
    for (const url of [
      "https://two.example/api/v1/aggregation?a=0&a=1&b=2",
      "https://one.example/api/v1/aggregation?a=1&utm_source=twitter&b=2&a=0&fbclid=x",
      "http://127.0.0.1:8787/api/v1/aggregation?a=0&b=2&a=1",
    ]) {
      expect(await get(s.b, url), url).toMatchObject({ cache: "HIT", body: a.body });
    }
    expect((await get(s.b, "https://one.example/api/v1/aggregation?a=1&b=3")).cache).toBe("MISS");
    expect(await s.hits("/api/v1/aggregation?b=2&a=1&a=0")).toBe(1);
  });

  it("coalesces concurrent misses into one origin request", async () => {
    const c = await setup();
    await fakes.setOrigin(c.origin.id, { mode: "slow", slow_ms: 300 });
    const url = "https://x.example/api/_/global_overview?coalesce=1";
    const all = await Promise.all(Array.from({ length: 8 }, () => get(c.b, url)));
    for (const r of all) expect(r).toMatchObject({ status: 200, cache: "MISS", body: all[0]!.body });
    expect(await c.hits("/api/_/global_overview?coalesce=1")).toBe(1);
    expect((await get(c.b, url)).cache).toBe("HIT");
  });

  it("serves a stale entry while revalidating in the background (stale-while-revalidate)", async () => {
    const c = await setup();
    await fakes.setOrigin(c.origin.id, { routes: [{ path: "/api/_/countries", headers: { "cache-control": "public, max-age=1", "content-type": "application/json" }, body: '{"n":{n}}' }] });
    const url = "https://x.example/api/_/countries";
    expect(await get(c.b, url)).toMatchObject({ cache: "MISS", body: '{"n":1}' });
    await sleep(1100);
    const stale = await get(c.b, url);
    expect(stale).toMatchObject({ status: 200, cache: "STALE", body: '{"n":1}' });
    await c.b.settle(); // the background refresh
    expect(await c.hits("/api/_/countries")).toBe(2);
    expect(await get(c.b, url)).toMatchObject({ cache: "HIT", body: '{"n":2}' });
  });

  it("serves a stale entry when the origin is down, errors, or times out (stale-if-error)", async () => {
    const c = await setup();
    await fakes.setOrigin(c.origin.id, {
      routes: [{ path: "/api/v1/aggregation", headers: { "cache-control": "public, max-age=1", "content-type": "application/json" }, body: '{"result":{n}}' }],
    });
    const url = "https://x.example/api/v1/aggregation?probe_cc=IR";
    expect(await get(c.b, url)).toMatchObject({ cache: "MISS", body: '{"result":1}' });
    await sleep(1100);
    for (const mode of ["refuse", "fail-500", "hang"] as const) {
      await fakes.setOrigin(c.origin.id, { mode });
      const r = await get(c.b, url);
      expect(r, mode).toMatchObject({ status: 200, cache: "STALE", body: '{"result":1}' });
      expect(r.res.headers.get("x-cache-stale-reason")).toMatch(/^origin answered 5\d\d$/);
    }
    await fakes.setOrigin(c.origin.id, { mode: "ok" });
    // Back up: a fresh answer again (the origin counted the failed attempts too).
    const fresh = await get(c.b, url);
    expect(fresh).toMatchObject({ cache: "MISS", body: `{"result":${await c.hits("/api/v1/aggregation?probe_cc=IR")}}` });
    expect(fresh.body).not.toBe('{"result":1}');
  });

  it("passes the origin's error on when there is nothing stale to serve", async () => {
    const c = await setup();
    await fakes.setOrigin(c.origin.id, { mode: "refuse" });
    const down = await get(c.b, "https://x.example/api/v1/aggregation?never=cached");
    expect(down).toMatchObject({ status: 502, cache: "MISS" });
    expect(JSON.parse(down.body)).toMatchObject({ error: "origin unreachable" });
    await fakes.setOrigin(c.origin.id, { mode: "hang" });
    const slow = await get(c.b, "https://x.example/api/v1/test-helpers");
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.body)).toMatchObject({ error: "origin timeout" });
    await fakes.setOrigin(c.origin.id, { mode: "ok" });
  });

  it("purges one URL (purge token required), and the next GET goes to the origin", async () => {
    const url = "https://x.example/api/v1/measurements?probe_cc=US&limit=5";
    await get(s.b, url);
    expect((await get(s.b, url)).cache).toBe("HIT");

    const purge = (body: unknown, token?: string) =>
      s.b.fetch("https://any.example/__bridge/purge", {
        method: "POST",
        body: typeof body === "string" ? body : JSON.stringify(body),
        headers: token ? { authorization: `Bearer ${token}`, "content-type": "application/json" } : { "content-type": "application/json" },
      });
    for (const token of [undefined, "wrong-token-wrong-token", TOKENS.status]) {
      const denied = await purge({ url }, token);
      expect(denied.status).toBe(401);
      expect(await denied.json()).toMatchObject({ error: "token required" });
    }
    for (const bad of ["not json", { url: "" }, { prefix: "no-slash" }, { url, prefix: "/api/" }, { everything: true }]) {
      const res = await purge(bad, TOKENS.purge);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/purge request/);
    }
    const notCached = await purge({ url: "/api/v1/check-in" }, TOKENS.purge);
    expect(notCached.status).toBe(404);
    await notCached.arrayBuffer();

    expect((await get(s.b, url)).cache).toBe("HIT");
    // Parameters in another order and another hostname name the same entry.
    const ok = await purge({ url: "https://other.example/api/v1/measurements?limit=5&probe_cc=US" }, TOKENS.purge);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ purged: "url", key: "/api/v1/measurements?limit=5&probe_cc=US", route: "/api/v1/measurements" });
    expect((await get(s.b, url)).cache).toBe("MISS");
    expect((await get(s.b, url)).cache).toBe("HIT");
    expect(await s.hits("/api/v1/measurements?probe_cc=US&limit=5")).toBe(2);
  });

  it("purges a route prefix by moving it to a new generation, leaving other routes cached", async () => {
    const c = await setup();
    const urls = ["https://x.example/api/_/countries?a=1", "https://x.example/api/_/test_names", "https://x.example/api/v1/aggregation?keep=1"];
    for (const u of urls) await get(c.b, u);
    for (const u of urls) expect((await get(c.b, u)).cache).toBe("HIT");
    const res = await c.b.fetch("https://x.example/__bridge/purge", {
      method: "POST",
      body: JSON.stringify({ prefix: "/api/_/" }),
      headers: { authorization: `Bearer ${TOKENS.purge}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ purged: "prefix", prefix: "/api/_/", routes: [{ prefix: "/api/_/", generation: 1 }] });
    expect((await get(c.b, urls[0]!)).cache).toBe("MISS");
    expect((await get(c.b, urls[1]!)).cache).toBe("MISS");
    expect((await get(c.b, urls[2]!)).cache).toBe("HIT");
    expect((await c.b.status()).cache.routes).toContainEqual({ prefix: "/api/_/", generation: 1 });

    const none = await c.b.fetch("https://x.example/__bridge/purge", {
      method: "POST",
      body: JSON.stringify({ prefix: "/api/v2/" }),
      headers: { authorization: `Bearer ${TOKENS.purge}` },
    });
    expect(none.status).toBe(404);
    await none.arrayBuffer();
  });

  it("bypasses requests that must not be shared, and forwards them every time", async () => {
    const path = "/api/v1/aggregation?bypass=1";
    const url = `https://x.example${path}`;
    const cases: [string, RequestInit][] = [
      ["POST", { method: "POST", body: "{}" }],
      ["HEAD", { method: "HEAD" }],
      ["Authorization", { headers: { authorization: "Bearer abc" } }],
      ["Cookie", { headers: { cookie: "session=1" } }],
      ["Range", { headers: { range: "bytes=0-10" } }],
    ];
    for (const [label, init] of cases) {
      const before = await s.hits(path);
      for (let i = 0; i < 2; i++) {
        const res = await s.b.fetch(url, init);
        expect(res.headers.get("x-cache"), label).toBe("BYPASS");
        await res.arrayBuffer();
      }
      expect(await s.hits(path), label).toBe(before + 2);
    }
  });

  it("never stores errors, answers with Set-Cookie, no-store/private/no-cache, or answers that vary", async () => {
    const c = await setup();
    const json = { "content-type": "application/json" };
    const routes = [
      { path: "/api/_/err500", status: 500, headers: { ...json, "cache-control": "public, max-age=60" }, body: '{"error":"x"}' },
      { path: "/api/_/err404", status: 404, headers: { ...json, "cache-control": "public, max-age=60" }, body: '{"error":"x"}' },
      { path: "/api/_/cookie", headers: { ...json, "cache-control": "public, max-age=60", "set-cookie": "a=b" }, body: "{}" },
      { path: "/api/_/nostore", headers: { ...json, "cache-control": "no-store" }, body: "{}" },
      { path: "/api/_/private", headers: { ...json, "cache-control": "private, max-age=60" }, body: "{}" },
      { path: "/api/_/nocache", headers: { ...json, "cache-control": "no-cache" }, body: "{}" },
      // (Vary: Origin alone is the bridge's business: it sets CORS per browser, edge/src/cors.ts.)
      { path: "/api/_/vary", headers: { ...json, "cache-control": "public, max-age=60", vary: "Origin, Cookie" }, body: "{}" },
      { path: "/api/_/nocc", headers: json, body: "{}" },
      { path: "/api/_/zero", headers: { ...json, "cache-control": "public, max-age=0" }, body: "{}" },
    ];
    await fakes.setOrigin(c.origin.id, { routes });
    for (const r of routes) {
      for (let i = 0; i < 2; i++) {
        const res = await get(c.b, `https://x.example${r.path}`);
        expect(res.cache, r.path).toBe("MISS");
        expect(res.status).toBe(r.status ?? 200);
      }
      expect(await c.hits(r.path), r.path).toBe(2);
    }
  });

  it("leaves routes that are not configured alone (no X-Cache, every request forwarded)", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await s.b.fetch("https://x.example/api/v1/test-helpers");
      expect(res.headers.get("x-cache")).toBeNull();
      await res.arrayBuffer();
    }
    expect(await s.hits("/api/v1/test-helpers")).toBe(2);
  });

  it("does not hand one client's request id or quota headers to the next", async () => {
    const c = await setup();
    await fakes.setOrigin(c.origin.id, {
      routes: [{ path: "/api/_/quota", headers: { "cache-control": "public, max-age=60", "x-ratelimit-remaining": "41", "x-request-id": "first" }, body: "{}" }],
    });
    const first = await c.b.fetch("https://x.example/api/_/quota", { headers: { "x-request-id": "req-one" } });
    await first.arrayBuffer();
    const hit = await c.b.fetch("https://x.example/api/_/quota", { headers: { "x-request-id": "req-two" } });
    await hit.arrayBuffer();
    expect(hit.headers.get("x-cache")).toBe("HIT");
    expect(hit.headers.get("x-request-id")).toBe("req-two");
    expect(hit.headers.get("x-ratelimit-remaining")).toBeNull();
    expect(hit.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("counts hits, stale answers, misses and bypasses for the status page", async () => {
    const c = await setup();
    const url = "https://x.example/api/_/counted";
    await get(c.b, url); // miss
    await get(c.b, url); // hit
    await get(c.b, url); // hit
    await get(c.b, url, { authorization: "Bearer x" }); // bypass
    const status = await c.b.status();
    expect(status.cache).toMatchObject({ hit: 2, stale: 0, miss: 1, bypass: 1 });
    expect(status.cache.hit_ratio).toBeCloseTo(2 / 3, 10);
  });
});

describe("forwarding limits", () => {
  it("refuses request bodies over origin.max_body_bytes with a 413 JSON, declared or streamed", async () => {
    const c = await setup({ origin: { max_body_bytes: 1024 } });
    const small = await c.b.fetch("https://x.example/report", { method: "POST", body: "x".repeat(1024) });
    expect(small.status).toBe(200);
    await small.arrayBuffer();
    const big = await c.b.fetch("https://x.example/report", { method: "POST", body: "x".repeat(1025) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: "request body too large", limit_bytes: 1024 });
    // The declared-too-large body never left the edge.
    expect(await c.hits("/report")).toBe(1);
    const chunk = new TextEncoder().encode("y".repeat(600));
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (n++ === 2) return controller.close();
        controller.enqueue(chunk);
      },
    });
    const streamed = await c.b.fetch("https://x.example/report", { method: "POST", body: stream });
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: "request body too large" });
  });
});
