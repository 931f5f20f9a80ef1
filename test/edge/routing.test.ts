import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";

// Routing with the default bridge-config file (helpers = three fake helpers, origin = the real
// origin): what goes to the helpers, what to the origin, what the edge answers itself.
const worker = exports.default;
const pool = inject("edgeHelpers").map((h) => h.id);
const CONTROL = '{"http_request":"https://example.org/","http_request_headers":{},"tcp_connect":["93.184.216.34:443"]}';

describe("routing", () => {
  it("sends POST / to a test helper on any hostname, and says which helper answered", async () => {
    for (const host of ["api.example.org", "some-unblocked-name.example", "127.0.0.1:8787"]) {
      const res = await worker.fetch(`https://${host}/`, { method: "POST", body: CONTROL, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(200);
      const helper = res.headers.get("x-ooni-helper");
      expect(pool).toContain(helper);
      const body = (await res.json()) as { helper: string; path: string; received: string };
      expect(body).toMatchObject({ helper, path: "/", received: CONTROL });
    }
  });

  it("sends every request on a configured helper hostname (*.th.localhost) to the helpers, any method and path", async () => {
    const get = await worker.fetch("https://0.th.localhost/");
    expect(get.status).toBe(200);
    expect(pool).toContain(get.headers.get("x-ooni-helper"));
    expect(await get.json()).toMatchObject({ message: "Hello OONItarian!" });

    const post = await worker.fetch("https://3.th.localhost/api/v1/whatever?x=1", { method: "POST", body: CONTROL });
    expect(post.status).toBe(200);
    expect(await post.json()).toMatchObject({ path: "/api/v1/whatever?x=1", received: CONTROL });
  });

  it("does not route by the Host header: only the request URL's hostname counts", async () => {
    // Miniflare rewrites Host anyway; a client-sent Host naming a helper hostname changes nothing.
    const res = await worker.fetch("https://api.example.org/health", { headers: { host: "0.th.localhost" } });
    expect(res.headers.get("x-ooni-helper")).toBeNull();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok" });
  });

  it("sends POST to any other path, and GET /, to the origin", async () => {
    const post = await worker.fetch("https://api.example.org/report", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(post.headers.get("x-ooni-helper")).toBeNull();
    await post.arrayBuffer();
    const get = await worker.fetch("https://api.example.org/");
    expect(get.headers.get("x-ooni-helper")).toBeNull();
    await get.arrayBuffer();
    // A hostname that merely looks like a helper name is not one.
    const near = await worker.fetch("https://th.localhost.example/health");
    expect(near.headers.get("x-ooni-helper")).toBeNull();
    expect(near.status).toBe(200);
    await near.arrayBuffer();
  });

  it("keeps a path starting with // as a path on the origin, never as another host (found by fuzzing)", async () => {
    // Resolved as a URL reference, "//report/x" named the host "report" (a DNS failure, 502) and
    // "//attacker.example/" would have received the request and the edge's shared secret.
    for (const p of ["//report/x", "//127.0.0.1:1/health", "///x"]) {
      const res = await worker.fetch(`https://api.example.org${p}?q=1`);
      expect(res.status, p).toBe(404);
      expect(await res.json()).toMatchObject({ error: "not found", path: p });
    }
  });

  it("serves robots.txt itself, on helper hostnames too", async () => {
    const res = await worker.fetch("https://0.th.localhost/robots.txt");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Disallow: /api/_");
  });

  it("answers unknown /__bridge/ paths with a JSON 404, on any hostname", async () => {
    for (const url of ["https://a.example/__bridge/nope", "https://0.th.localhost/__bridge/", "https://a.example/__bridge"]) {
      const res = await worker.fetch(url);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({ error: "no such bridge endpoint" });
    }
  });

  it("adds CORS for the OONI sites (with credentials) and `*` for other pages' reads (test/edge/cors.test.ts has the rest)", async () => {
    const api = await worker.fetch("https://api.example.org/api/v1/test-helpers", { headers: { origin: "https://explorer.ooni.org" } });
    await api.arrayBuffer();
    expect(api.headers.get("access-control-allow-origin")).toBe("https://explorer.ooni.org");
    expect(api.headers.get("access-control-allow-credentials")).toBe("true");
    expect(api.headers.get("access-control-expose-headers")).toContain("X-Cache");
    const other = await worker.fetch("https://api.example.org/health", { headers: { origin: "https://status.example" } });
    await other.arrayBuffer();
    expect(other.headers.get("access-control-allow-origin")).toBe("*");
  });
});
