import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { formatShare } from "../../edge/src/bridge/status";
import { addresses, bridge, bridgeConfig, fakes, uniqueName, TOKENS, type StatusJson } from "./support/bridge";

// /__bridge/status: token-protected; JSON for tools; HTML for people, rendered here in headless
// Chromium (playwright-core + Debian's chromium, driven from the globalSetup) and compared with
// the JSON.

const worker = exports.default;
const tokens = inject("bridgeTokens");
const CONTROL = '{"http_request":"https://example.org/","http_request_headers":{},"tcp_connect":[]}';

describe("status page access", () => {
  it("asks for the status token (browser prompt via Basic), and rejects wrong ones", async () => {
    const none = await worker.fetch("https://any.example/__bridge/status");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    expect(await none.json()).toEqual({ error: "token required" });
    for (const header of [`Bearer ${tokens.purge}`, "Bearer nope", `Basic ${btoa("admin:nope")}`, "Token abc"]) {
      const res = await worker.fetch("https://any.example/__bridge/status", { headers: { authorization: header } });
      expect(res.status, header).toBe(401);
      await res.arrayBuffer();
    }
    const basic = await worker.fetch("https://any.example/__bridge/status", { headers: { authorization: `Basic ${btoa(`anyone:${tokens.status}`)}` } });
    expect(basic.status).toBe(200);
    expect(basic.headers.get("content-type")).toMatch(/^text\/html/);
    expect(basic.headers.get("cache-control")).toBe("no-store");
    await basic.arrayBuffer();
  });

  it("checks its query string", async () => {
    const auth = { authorization: `Bearer ${tokens.status}` };
    for (const q of ["?format=xml", "?format=json&extra=1", "?fmt=json"]) {
      const res = await worker.fetch(`https://any.example/__bridge/status${q}`, { headers: auth });
      expect(res.status, q).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid query string" });
    }
    const route = await worker.fetch("https://any.example/__bridge/route?ip=not-an-ip", { headers: auth });
    expect(route.status).toBe(400);
    await route.arrayBuffer();
  });

  it("does not exist while no token is configured", async () => {
    const b = bridge(bridgeConfig({ name: uniqueName("notoken"), origin: { url: inject("originUrl") }, admin: {} }));
    for (const path of ["/__bridge/status", "/__bridge/route?ip=192.0.2.1"]) {
      const res = await b.fetch(`https://x.example${path}`, { headers: { authorization: `Bearer ${TOKENS.status}` } });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: "not enabled: no token configured" });
    }
    const purge = await b.fetch("https://x.example/__bridge/purge", { method: "POST", body: '{"prefix":"/api/"}', headers: { authorization: `Bearer ${TOKENS.purge}` } });
    expect(purge.status).toBe(404);
    await purge.arrayBuffer();
  });

  it("shows the default configuration's pool", async () => {
    const res = await worker.fetch("https://any.example/__bridge/status?format=json", { headers: { authorization: `Bearer ${tokens.status}` } });
    expect(res.status).toBe(200);
    const status = (await res.json()) as StatusJson;
    expect(status.bridge).toBe("vitest");
    expect(status.pool.map((h) => [h.id, h.url, h.weight])).toEqual(inject("edgeHelpers").map((h) => [h.id, h.url, 1]));
  });
});

const chromium = inject("chromiumPath");
if (!chromium) console.warn("skipping the status page rendering test: no Chromium at $CHROMIUM_PATH or /usr/bin/chromium (apt-get install chromium)");

describe("status page content", () => {
  it.skipIf(!chromium)("renders the pool in Chromium, matching its JSON: health, weights, observed shares, failures", async () => {
    const name = uniqueName("status");
    const pool = await fakes.helpers(3, name);
    const weights = [1, 1, 1 / 3];
    const b = bridge(
      bridgeConfig({
        name,
        origin: { url: inject("originUrl") },
        helpers: { pool: pool.map((h, i) => ({ ...h, weight: weights[i]! })), check: { fall: 1, rise: 2 } },
        cache: { routes: [{ prefix: "/api/_/" }] },
      }),
    );

    // Traffic from 90 client networks; count who answered.
    const answered: Record<string, number> = {};
    for (const ip of addresses(90, 5150)) {
      const res = await b.probe(ip, CONTROL);
      expect(res.status).toBe(200);
      const id = res.headers.get("x-ooni-helper")!;
      answered[id] = (answered[id] ?? 0) + 1;
      await res.arrayBuffer();
    }
    // One helper fails its health check (fall = 1) and goes down.
    await fakes.setHelper(pool[1]!.id, "fail-500");
    await b.cron();

    const json = await b.status();
    expect(json.served_total).toBe(90);
    for (const h of json.pool) {
      expect(h.served, h.id).toBe(answered[h.id] ?? 0);
      expect(h.observed_share).toBeCloseTo((answered[h.id] ?? 0) / 90, 12);
    }
    expect(json.pool.map((h) => h.state)).toEqual(["up", "down", "up"]);
    // Expected shares: the helpers still up, by weight (1 and 1/3 of 4/3).
    expect(json.pool.map((h) => h.expected_share)).toEqual([0.75, 0, 0.25]);
    expect(json.recent_failures[0]).toMatchObject({ helper: pool[1]!.id, source: "active", kind: "check" });

    const htmlRes = await b.fetch("https://x.example/__bridge/status", { headers: { authorization: `Bearer ${TOKENS.status}` } });
    expect(htmlRes.status).toBe(200);
    expect(htmlRes.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await fakes.render(await htmlRes.text());

    expect(page.title).toBe(`Bridge ${name} — status`);
    expect(page.heading).toBe(`Bridge ${name}`);
    expect(page.poolVisible).toBe(true);
    expect(page.poolHeaders.slice(0, 7)).toEqual(["Helper", "URL", "State", "Weight", "Expected share", "Observed share", "Requests"]);
    expect(page.pool).toHaveLength(3);
    json.pool.forEach((h, i) => {
      const row = page.pool[i]!;
      expect(row.slice(0, 8)).toEqual([
        h.id,
        h.url,
        h.state,
        String(h.weight),
        formatShare(h.expected_share),
        formatShare(h.observed_share),
        String(h.served),
        String(h.consecutive_failures),
      ]);
    });
    expect(page.pool[1]![8]).toMatch(/^failed: status 500/);
    expect(page.pool[0]![8]).toMatch(/^ok: status 200/);
    expect(page.failures[0]!.slice(1, 4)).toEqual([pool[1]!.id, "active", "check"]);
    expect(page.hitRatio).toBe(formatShare(json.cache.hit_ratio));
    await fakes.setHelper(pool[1]!.id, "ok");
  });

  it.skipIf(!chromium)("prints text from the outside as text", async () => {
    const name = uniqueName("escape");
    const [h] = await fakes.helpers(1, name);
    const markup = "<img src=x onerror=alert(1)>";
    // The check looks for a string the helper does not send: the failure detail quotes it.
    const b = bridge(bridgeConfig({ name, origin: { url: inject("originUrl") }, helpers: { pool: [{ ...h!, weight: 1 }], check: { expect_body: markup, fall: 1 } } }));
    await b.cron();
    const html = await (await b.fetch("https://x.example/__bridge/status", { headers: { authorization: `Bearer ${TOKENS.status}` } })).text();
    expect(html).not.toContain(markup);
    const page = await fakes.render(html);
    expect(page.failures[0]![4]).toContain(markup);
    expect(page.pool[0]![8]).toContain(markup);
  });
});
