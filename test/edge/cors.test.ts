import { beforeAll, describe, expect, it } from "vitest";
import { bridge, bridgeConfig, fakes, uniqueName, type TestBridge } from "./support/bridge";

// CORS at the bridge (edge/src/cors.ts), in front of a fake origin that counts requests: the bridge
// answers preflights itself, and every answer — forwarded, cached, error, POST — carries the CORS
// headers of the browser that asked, never those stored with another browser's request.

const EXPLORER = "https://explorer.ooni.org";
const RUN = "https://run.ooni.org";
const ROUTES = [
  { prefix: "/api/_/", stale_while_revalidate_s: 0, stale_if_error_s: 0 },
  { prefix: "/api/v1/measurements", stale_while_revalidate_s: 0, stale_if_error_s: 0, per_host: true },
];

let b: TestBridge;
let origin: { id: string; url: string };
const hits = async (url: string) => (await fakes.originHits(origin.id)).hits[url] ?? 0;

beforeAll(async () => {
  origin = await fakes.origin();
  b = bridge(bridgeConfig({ name: uniqueName("cors"), origin: { url: origin.url, timeout_ms: 2000 }, cache: { routes: ROUTES } }));
});

describe("preflights", () => {
  it("are answered by the bridge for the OONI sites on any path; the origin never sees them", async () => {
    for (const [site, path, method] of [
      [EXPLORER, "/api/v1/incidents/create", "POST"],
      [RUN, "/api/v2/oonirun/links/1", "PUT"],
      ["https://explorer.test.ooni.org", "/api/_/account_metadata", "GET"],
    ] as const) {
      const r = await b.fetch(`https://api.example.org${path}`, {
        method: "OPTIONS",
        headers: { origin: site, "access-control-request-method": method, "access-control-request-headers": "authorization,content-type" },
      });
      expect(r.status, path).toBe(204);
      expect(r.headers.get("access-control-allow-origin")).toBe(site);
      expect(r.headers.get("access-control-allow-credentials")).toBe("true");
      expect(r.headers.get("access-control-allow-methods")).toContain(method);
      expect(r.headers.get("access-control-allow-headers")).toBe("authorization,content-type");
      expect(await hits(path)).toBe(0);
    }
  });

  it("from another origin: a JSON 400 without CORS headers", async () => {
    const r = await b.fetch("https://api.example.org/api/v1/incidents/create", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: "origin not allowed by the CORS policy" });
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("answers", () => {
  it("a POST through the bridge is readable by the site that sent it", async () => {
    const r = await b.fetch("https://api.example.org/api/_/measurement_feedback", { method: "POST", headers: { origin: EXPLORER }, body: "{}" });
    await r.arrayBuffer();
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe(EXPLORER);
    expect(r.headers.get("access-control-allow-credentials")).toBe("true");
  });

  it("a cached answer filled for one site is served with each later browser's own headers", async () => {
    await fakes.setOrigin(origin.id, {
      routes: [
        {
          path: "/api/_/shared",
          headers: {
            "content-type": "application/json",
            "cache-control": "public, max-age=60",
            // What our origin sends: its own CORS headers for the filling browser, varying on Origin.
            "access-control-allow-origin": EXPLORER,
            "access-control-allow-credentials": "true",
            vary: "Origin, Accept-Encoding",
          },
          body: '{"n":{n}}',
        },
      ],
    });
    const first = await b.fetch("https://api.example.org/api/_/shared", { headers: { origin: EXPLORER } });
    expect(await first.text()).toBe('{"n":1}');
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(first.headers.get("access-control-allow-origin")).toBe(EXPLORER);

    const run = await b.fetch("https://api.example.org/api/_/shared", { headers: { origin: RUN } });
    expect(await run.text()).toBe('{"n":1}');
    expect(run.headers.get("x-cache")).toBe("HIT");
    expect(run.headers.get("access-control-allow-origin")).toBe(RUN);

    const other = await b.fetch("https://api.example.org/api/_/shared", { headers: { origin: "https://notebook.example" } });
    await other.arrayBuffer();
    expect(other.headers.get("x-cache")).toBe("HIT");
    expect(other.headers.get("access-control-allow-origin")).toBe("*");
    expect(other.headers.get("access-control-allow-credentials")).toBeNull();
    expect(other.headers.get("vary")).toContain("Origin");
    expect(await hits("/api/_/shared")).toBe(1);
  });

  it("an answer from the bridge itself (origin down) carries them too", async () => {
    const down = await fakes.origin();
    await fakes.setOrigin(down.id, { mode: "refuse" });
    const d = bridge(bridgeConfig({ name: uniqueName("cors-down"), origin: { url: down.url, timeout_ms: 1000 } }));
    const r = await d.fetch("https://api.example.org/api/v1/incidents/search", { headers: { origin: EXPLORER } });
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.headers.get("access-control-allow-origin")).toBe(EXPLORER);
    expect((await r.json()) as object).toHaveProperty("error");
  });
});

describe("search links name the bridge hostname the client used", () => {
  it("per_host routes keep one cache entry per hostname, and the origin is told the hostname", async () => {
    const url = (host: string) => `https://${host}/api/v1/measurements?limit=1`;
    const one = await b.fetch(url("one.example"));
    expect(one.headers.get("x-cache")).toBe("MISS");
    await one.arrayBuffer();
    const two = await b.fetch(url("two.example"));
    expect(two.headers.get("x-cache")).toBe("MISS");
    await two.arrayBuffer();
    const again = await b.fetch(url("one.example"));
    expect(again.headers.get("x-cache")).toBe("HIT");
    await again.arrayBuffer();
    const seen = (await fakes.originHits(origin.id)).requests.filter((r) => r.url === "/api/v1/measurements?limit=1");
    expect(seen.map((r) => r.headers["x-ooni-bridge-host"])).toEqual(["one.example", "two.example"]);
    expect(seen.every((r) => r.headers["x-forwarded-proto"] === "https")).toBe(true);
  });
});

describe("the bridge's policy is configurable ([cors])", () => {
  it("other origins, no credentials, no public reads", async () => {
    const o = await fakes.origin();
    const s = bridge(
      bridgeConfig({
        name: uniqueName("cors-strict"),
        origin: { url: o.url, timeout_ms: 2000 },
        cors: { allowed_origins: ["http://localhost:3100"], allow_credentials: false, public_reads: false, expose_headers: ["X-Request-Id"] },
      }),
    );
    const dev = await s.fetch("https://api.example.org/api/_/x", { headers: { origin: "http://localhost:3100" } });
    await dev.arrayBuffer();
    expect(dev.headers.get("access-control-allow-origin")).toBe("http://localhost:3100");
    expect(dev.headers.get("access-control-allow-credentials")).toBeNull();
    expect(dev.headers.get("access-control-expose-headers")).toBe("X-Request-Id");
    const explorer = await s.fetch("https://api.example.org/api/_/x", { headers: { origin: EXPLORER } });
    await explorer.arrayBuffer();
    expect(explorer.headers.get("access-control-allow-origin")).toBeNull();
  });
});
