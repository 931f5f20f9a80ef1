import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import worker from "../../edge/src/index";
import type { EdgeEnv } from "../../edge/src/env";

// A bridge domain added by an operator (`npm run bridge -- add-domain` + `render`, done by the
// globalSetup on copies of the default files) needs nothing from the Worker: with the rendered
// configuration it answers the new hostname exactly as it answers a name nobody configured.
const rendered = inject("renderedBridge");
const unknown = "unconfigured-7f3a.example";
const CONTROL = '{"http_request":"https://example.org/","http_request_headers":{},"tcp_connect":["93.184.216.34:443"]}';

async function call(host: string, path: string, init: RequestInit = {}) {
  const e = { ...(env as unknown as EdgeEnv), BRIDGE_CONFIG: rendered.bridgeConfig } as EdgeEnv;
  const headers = { "cf-connecting-ip": "203.0.113.7", ...(init.headers as Record<string, string> | undefined) };
  const res = await worker.fetch(new Request(`https://${host}${path}`, { ...init, headers }), e, createExecutionContext());
  const body = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), helper: res.headers.get("x-ooni-helper"), body };
}

describe("a bridge domain added with npm run bridge", () => {
  it("is in the rendered routes", () => {
    expect(rendered.routes).toEqual([{ pattern: `${rendered.hostname}/*`, zone_name: "example.net" }]);
  });

  it("serves the new hostname and an unknown one identically", async () => {
    const cases: [string, RequestInit?][] = [
      ["/api/v1/test-helpers"],
      ["/robots.txt"],
      ["/", { method: "POST", body: CONTROL, headers: { "content-type": "application/json" } }],
      ["/__bridge/nope"],
    ];
    for (const [path, init] of cases) {
      const a = await call(rendered.hostname, path, init);
      const b = await call(unknown, path, init);
      expect(a.status, path).toBeLessThan(500);
      // The origin's test-helper list names the host the probe used (it advertises the bridge it
      // was reached through); apart from that name the answers are the same.
      expect({ ...a, body: a.body.replaceAll(rendered.hostname, unknown) }, path).toEqual(b);
    }
    // The POST went to a test helper on both names (the same one: same client network).
    const post = await call(rendered.hostname, "/", { method: "POST", body: CONTROL });
    expect(post.helper).toBeTruthy();
  });
});

describe("a drained helper (drain-helper)", () => {
  it("keeps its weight in the configuration but takes no clients", async () => {
    const { compilePool } = await import("../../edge/src/balancer/pool");
    const pool = compilePool([
      { id: "a", url: "https://a.example", weight: 2, drained: true },
      { id: "b", url: "https://b.example", weight: 1 },
    ]);
    expect([...pool.weights]).toEqual([0, 1]);
    expect([...pool.weighted]).toEqual([0, 1]);
  });
});
