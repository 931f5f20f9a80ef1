import { describe, expect, it } from "vitest";
import { applyCorsHeaders, corsAnswer, DEFAULT_CORS_POLICY, originMatcher, validOriginPattern, type CorsPolicy } from "#shared/cors";

// The CORS policy both the origin and the bridge apply (shared/src/cors.ts): which origins the
// default admits (upstream's `^https://[-A-Za-z0-9]+(\.(test|dev))?\.ooni\.(org|io)$`), and what a
// browser gets back for preflights and ordinary requests.

const allowed = originMatcher(DEFAULT_CORS_POLICY.allowedOrigins);
const ask = (policy: CorsPolicy, method: string, origin: string | null, requestMethod: string | null = null, requestHeaders: string | null = null) =>
  corsAnswer(policy, originMatcher(policy.allowedOrigins), { method, origin, requestMethod, requestHeaders });

describe("default allowed origins (upstream's)", () => {
  it.each([
    "https://explorer.ooni.org",
    "https://run.ooni.org",
    "https://run.ooni.io",
    "https://explorer.test.ooni.org",
    "https://explorer.dev.ooni.io",
    "https://test-lists.test.ooni.org",
    "https://EXPLORER.ooni.org",
  ])("admits %s", (o) => expect(allowed(o)).toBe(true));

  it.each([
    "http://explorer.ooni.org", // not https
    "https://ooni.org", // no subdomain label
    "https://a.b.ooni.org", // two labels (only test. and dev. may sit in between)
    "https://explorer.ooni.org.evil.example",
    "https://evilooni.org",
    "https://explorer.ooni.org:8443",
    "https://explorer.ooni.org/",
    "null",
    "",
  ])("refuses %s", (o) => expect(allowed(o)).toBe(false));
});

describe("answers", () => {
  it("preflight from an allowed origin: 204 with that origin, credentials, every method, the asked headers", () => {
    const a = ask(DEFAULT_CORS_POLICY, "OPTIONS", "https://explorer.ooni.org", "POST", "authorization, content-type");
    expect(a).toEqual({
      kind: "preflight",
      status: 204,
      headers: {
        "access-control-allow-origin": "https://explorer.ooni.org",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
        vary: "Origin",
      },
    });
  });

  it("preflight from any other origin is refused, even for a GET (simple public GETs need none)", () => {
    expect(ask(DEFAULT_CORS_POLICY, "OPTIONS", "https://evil.example", "GET", "authorization").kind).toBe("refused");
    expect(ask(DEFAULT_CORS_POLICY, "OPTIONS", "https://evil.example", "POST").kind).toBe("refused");
  });

  it("a requested header list with anything but header tokens is not echoed", () => {
    const a = ask(DEFAULT_CORS_POLICY, "OPTIONS", "https://run.ooni.org", "PUT", "x\r\nset-cookie: a=b");
    expect(a.kind).toBe("preflight");
    expect(a.kind === "preflight" && a.headers["access-control-allow-headers"]).toBeUndefined();
  });

  it("ordinary requests: the allowed origin with credentials; public reads `*` without; other writes nothing", () => {
    const mine = ask(DEFAULT_CORS_POLICY, "POST", "https://explorer.ooni.org");
    expect(mine).toEqual({
      kind: "headers",
      headers: {
        vary: "Origin",
        "access-control-allow-origin": "https://explorer.ooni.org",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "X-Request-Id, X-Cache, Age, Retry-After",
      },
    });
    const read = ask(DEFAULT_CORS_POLICY, "GET", "https://notebook.example");
    expect(read.kind === "headers" && read.headers["access-control-allow-origin"]).toBe("*");
    expect(read.kind === "headers" && read.headers["access-control-allow-credentials"]).toBeUndefined();
    expect(ask(DEFAULT_CORS_POLICY, "POST", "https://notebook.example")).toEqual({ kind: "headers", headers: { vary: "Origin" } });
  });

  it("is configurable: other origins, no credentials, no public reads, any origin", () => {
    const p: CorsPolicy = { allowedOrigins: ["https://*.example.org", "http://localhost:3100"], allowCredentials: false, exposeHeaders: [], publicReads: false, maxAgeS: 60 };
    const dev = ask(p, "GET", "http://localhost:3100");
    expect(dev).toEqual({ kind: "headers", headers: { vary: "Origin", "access-control-allow-origin": "http://localhost:3100" } });
    expect(ask(p, "GET", "https://explorer.ooni.org")).toEqual({ kind: "headers", headers: { vary: "Origin" } });
    expect(ask(p, "OPTIONS", "https://x.example.org", "PUT").kind).toBe("preflight");
    const any = originMatcher(["*"]);
    expect(any("https://anything.example")).toBe(true);
    expect(any("javascript:alert(1)")).toBe(false);
    expect(validOriginPattern("https://*.ooni.org")).toBe(true);
    expect(validOriginPattern("ftp://x.org")).toBe(false);
    expect(validOriginPattern("https://x.org/path")).toBe(false);
  });

  it("replaces CORS headers an answer had and extends Vary", () => {
    const h = new Headers({ "access-control-allow-origin": "https://other.ooni.org", "access-control-allow-credentials": "true", vary: "Accept-Encoding" });
    applyCorsHeaders(h, { vary: "Origin", "access-control-allow-origin": "*" });
    expect(h.get("access-control-allow-origin")).toBe("*");
    expect(h.get("access-control-allow-credentials")).toBeNull();
    expect(h.get("vary")).toBe("Accept-Encoding, Origin");
  });
});
