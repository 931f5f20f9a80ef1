import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";

// CORS at the real origin over HTTP: every route answers preflights for the OONI sites (upstream's
// default policy) — the logged-in Explorer (findings, feedback) and the OONI Run app send bearer
// headers, so each of their calls is preflighted — and every answer, errors included, is readable
// by the page that asked.

let origin: OriginProcess;
let strict: OriginProcess;
beforeAll(async () => {
  [origin, strict] = await Promise.all([
    startOriginProcess(),
    startOriginProcess({
      env: { CORS_ALLOWED_ORIGINS: "http://localhost:3100", CORS_ALLOW_CREDENTIALS: "false", CORS_PUBLIC_READS: "false", CORS_EXPOSE_HEADERS: "X-Request-Id" },
    }),
  ]);
}, 120_000);
afterAll(async () => {
  for (const o of [origin, strict]) {
    await o?.stop();
    o?.cleanup();
  }
});

const EXPLORER = "https://explorer.ooni.org";
const preflight = (base: string, path: string, from: string, method: string, headers = "authorization,content-type") =>
  fetch(`${base}${path}`, {
    method: "OPTIONS",
    headers: { origin: from, "access-control-request-method": method, "access-control-request-headers": headers },
  });

describe("preflights", () => {
  it.each([
    ["POST", "/api/v1/incidents/create"],
    ["GET", "/api/v1/incidents/search"],
    ["POST", "/api/_/measurement_feedback"],
    ["POST", "/api/v2/oonirun/links"],
    ["PUT", "/api/v2/oonirun/links/10001"],
    ["GET", "/api/_/account_metadata"],
    ["GET", "/api/v1/user_refresh_token"],
    ["POST", "/api/v1/no-such-route"],
  ])("%s %s from Explorer: 204 with the origin, credentials, the method and the headers", async (method, path) => {
    const r = await preflight(origin.url, path, EXPLORER, method);
    expect(r.status).toBe(204);
    expect(r.headers.get("access-control-allow-origin")).toBe(EXPLORER);
    expect(r.headers.get("access-control-allow-credentials")).toBe("true");
    expect(r.headers.get("access-control-allow-methods")).toContain(method);
    expect(r.headers.get("access-control-allow-headers")).toBe("authorization,content-type");
    expect(r.headers.get("vary")).toContain("Origin");
  });

  it("admits test and dev sites of ooni.org and ooni.io (the OONI Run app included)", async () => {
    for (const site of ["https://run.ooni.org", "https://run.test.ooni.org", "https://explorer.dev.ooni.io"]) {
      const r = await preflight(origin.url, "/api/v2/oonirun/links", site, "POST");
      expect(r.status, site).toBe(204);
      expect(r.headers.get("access-control-allow-origin")).toBe(site);
    }
  });

  it("refuses other origins with a JSON 400 and no CORS headers", async () => {
    for (const site of ["https://evil.example", "https://explorer.ooni.org.evil.example", "http://explorer.ooni.org"]) {
      const r = await preflight(origin.url, "/api/v1/user_refresh_token", site, "GET");
      expect(r.status, site).toBe(400);
      expect(await r.json()).toEqual({ error: "origin not allowed by the CORS policy" });
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
    }
  });
});

describe("ordinary answers", () => {
  it("a GET from Explorer names Explorer, with credentials and the exposed headers", async () => {
    const r = await fetch(`${origin.url}/api/v1/measurements?limit=1`, { headers: { origin: EXPLORER } });
    await r.arrayBuffer();
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe(EXPLORER);
    expect(r.headers.get("access-control-allow-credentials")).toBe("true");
    expect(r.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
  });

  it("a public read from any other page gets `*` without credentials", async () => {
    const r = await fetch(`${origin.url}/api/_/countries`, { headers: { origin: "https://notebook.example" } });
    await r.arrayBuffer();
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(r.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("errors are readable too: 401, 404 and 400 answers carry the headers", async () => {
    const unauth = await fetch(`${origin.url}/api/v1/incidents/create`, { method: "POST", headers: { origin: EXPLORER, "content-type": "application/json" }, body: "{}" });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get("access-control-allow-origin")).toBe(EXPLORER);
    expect(((await unauth.json()) as { error: unknown }).error).toBeTypeOf("string");
    const missing = await fetch(`${origin.url}/api/v1/nope`, { method: "POST", headers: { origin: EXPLORER } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe(EXPLORER);
    await missing.arrayBuffer();
    const bad = await fetch(`${origin.url}/api/v1/measurements?limit=nope`, { headers: { origin: EXPLORER } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("access-control-allow-origin")).toBe(EXPLORER);
    await bad.arrayBuffer();
  });

  it("a write from another page gets no CORS headers (the browser hides the answer)", async () => {
    const r = await fetch(`${origin.url}/api/v1/nope`, { method: "POST", headers: { origin: "https://evil.example" } });
    await r.arrayBuffer();
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the policy is configurable (CORS_*)", () => {
  it("only the listed origin, no credentials, no public reads, the listed exposed headers", async () => {
    const dev = await fetch(`${strict.url}/api/_/countries`, { headers: { origin: "http://localhost:3100" } });
    await dev.arrayBuffer();
    expect(dev.headers.get("access-control-allow-origin")).toBe("http://localhost:3100");
    expect(dev.headers.get("access-control-allow-credentials")).toBeNull();
    expect(dev.headers.get("access-control-expose-headers")).toBe("X-Request-Id");
    // On the default list but not on this one (nor a login site).
    const other = await fetch(`${strict.url}/api/_/countries`, { headers: { origin: "https://ooni-notebook.ooni.org" } });
    await other.arrayBuffer();
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // The login sites stay allowed: they must call the login routes.
    const login = await preflight(strict.url, "/api/v1/user_login", "https://run.ooni.org", "GET");
    expect(login.status).toBe(204);
  });
});
