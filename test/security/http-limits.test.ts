import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { report, scale } from "../support/reliability";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { loginViaOutbox, type Fetcher } from "../origin/oonirun/support";
import { rawHttp, rawHttpRetry, rawSocket, rssMiB } from "./support/http";
import { ADMIN, EDGE_SECRET, JWT_SECRET } from "./support/origin";
import { key, routesFromCommittedDocument, type Operation } from "./support/routes";

// Oversized headers and bodies, and header injection, against a real origin process over HTTP
// (the limits that matter live in Node's HTTP parser and in body streaming, which app.request
// would bypass). After every attack the origin must still answer /health.

const MAX_SUBMISSION = 1024 * 1024;
let origin: OriginProcess;
let admin: string;

beforeAll(async () => {
  origin = await startOriginProcess({
    env: { JWT_SECRET, EDGE_SHARED_SECRET: EDGE_SECRET, ADMIN_EMAILS: ADMIN, MAX_SUBMISSION_BYTES: String(MAX_SUBMISSION), QUOTAS_ENABLED: "false", TIMERS_IN_ORIGIN: "false" },
  });
  const f: Fetcher = (p, init) => fetch(`${origin.url}${p}`, init);
  admin = await loginViaOutbox(f, path.join(origin.dataDir, "outbox"), ADMIN);
});

afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

async function healthy(): Promise<boolean> {
  const r = await fetch(`${origin.url}/health`).catch(() => null);
  return r?.status === 200;
}

const isJsonError = (r: { headers: Record<string, unknown>; json: any }) =>
  String(r.headers["content-type"] ?? "").includes("json") && typeof r.json?.error === "string";

/** A path for the operation that would be accepted apart from the body (an open report, a real link…). */
async function pathFor(op: Operation): Promise<string> {
  if (op.path === "/report/{report_id}" || op.path === "/report/{report_id}/close") {
    const r = await fetch(`${origin.url}/report`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data_format_version: "0.2.0", format: "json", probe_asn: "AS30722", probe_cc: "IT", software_name: "t", software_version: "1", test_name: "web_connectivity", test_start_time: "2024-01-01 00:00:00", test_version: "0.4.3" }),
    });
    const { report_id } = (await r.json()) as { report_id: string };
    return op.path.replace("{report_id}", report_id);
  }
  if (op.path.includes("{oonirun_link_id}")) {
    const r = await fetch(`${origin.url}/api/v2/oonirun/links`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
      body: JSON.stringify({ name: "limits", description: "d", nettests: [{ test_name: "dnscheck" }] }),
    });
    const { oonirun_link_id } = (await r.json()) as { oonirun_link_id: string };
    return op.path.replace("{oonirun_link_id}", oonirun_link_id).replace("{revision_number}", "latest");
  }
  return op.path;
}

describe("oversized bodies", () => {
  it("every write operation answers 413 JSON to a body over its limit, declared or chunked, and stays up", async () => {
    const writes = routesFromCommittedDocument().filter((op) => ["POST", "PUT", "PATCH"].includes(op.method));
    expect(writes.length).toBeGreaterThanOrEqual(20);
    // Larger than every JSON route's limit (≤ 1 MiB) and than MAX_SUBMISSION_BYTES here.
    const size = 2 * MAX_SUBMISSION + 1;
    const failures: string[] = [];
    let cases = 0;
    for (const op of writes) {
      const p = await pathFor(op);
      for (const chunked of [false, true]) {
        cases++;
        const r = await rawHttpRetry(origin.url, {
          method: op.method,
          path: p,
          headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
          bodyBytes: size,
          chunked,
        }).catch((e: Error) => ({ status: -1, headers: {} as Record<string, string>, text: e.message, json: undefined }));
        const what = `${key(op)} ${chunked ? "chunked" : "Content-Length"}`;
        // A route without a request body never reads it: any answer but a 5xx (the body is discarded).
        const ok = op.hasBody ? r.status === 413 && isJsonError(r) : r.status < 500 && String(r.headers["content-type"]).includes("json");
        if (!ok) failures.push(`${what} → ${r.status} ${r.text.slice(0, 120)}`);
        if (!(await healthy())) throw new Error(`origin down after ${what}`);
      }
    }
    report("security", "oversized bodies", { operations: writes.length, cases, passed: cases - failures.length, body_bytes: size });
    expect(failures).toEqual([]);
  });

  it("streaming many large bodies at an unauthenticated route does not balloon the origin's memory", async () => {
    const rounds = scale(8, 32);
    const before = rssMiB(origin.child.pid!);
    for (let i = 0; i < rounds; i++) {
      const r = await rawHttp(origin.url, { method: "POST", path: "/api/v1/user_register", headers: { "content-type": "application/json" }, bodyBytes: 16 * 1024 * 1024, chunked: true });
      expect(r.status).toBe(413);
    }
    const grown = rssMiB(origin.child.pid!) - before;
    report("security", "oversized bodies memory", { rounds, mib_each: 16, rss_growth_mib: Math.round(grown) });
    expect(grown).toBeLessThan(96);
    expect(await healthy()).toBe(true);
  });
});

describe("oversized headers", () => {
  const cases: [string, Record<string, string>][] = [
    ["one 64 KiB header", { "x-big": "a".repeat(65_536) }],
    ["a 32 KiB bearer token", { authorization: `Bearer ${"a".repeat(32_768)}` }],
    ["a 32 KiB cookie", { cookie: `c=${"a".repeat(32_768)}` }],
    ["400 headers of 100 bytes", Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`x-h-${i}`, "b".repeat(100)]))],
    ["5000 tiny headers", Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`x-${i}`, "1"]))],
    ["a 20 KiB X-Forwarded-For with the edge secret", { "x-forwarded-for": "1.2.3.4, ".repeat(2000), "x-ooni-edge-auth": EDGE_SECRET }],
  ];
  it("are refused with 431 (or 400) before any handler runs; the origin stays up", async () => {
    let passed = 0;
    for (const [name, headers] of cases) {
      for (const p of ["/health", "/api/v1/check-in", "/api/_/account_metadata"]) {
        const r = await rawHttp(origin.url, { method: "GET", path: p, headers }).catch((e: Error) => ({ status: -1, headers: {} as Record<string, string>, text: e.message, json: undefined }));
        expect([431, 400], `${name} on ${p}: ${r.status} ${r.text.slice(0, 100)}`).toContain(r.status);
        expect(await healthy()).toBe(true);
        passed++;
      }
    }
    report("security", "oversized headers", { cases: passed, passed });
  });
});

describe("header injection", () => {
  it("CR, LF and NUL in header values are refused by the parser and never echoed as headers", async () => {
    const port = origin.port;
    const attempts = [
      "X-Request-Id: abc\rSet-Cookie: injected=1",
      "X-Request-Id: abc\nSet-Cookie: injected=1",
      "X-Request-Id: abc\r\n Set-Cookie: injected=1", // obsolete line folding
      "X-Request-Id: a\u0000b",
      "Origin: https://explorer.ooni.org\rSet-Cookie: injected=1",
    ];
    for (const h of attempts) {
      const raw = await rawSocket(port, `GET /api/_/account_metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n${h}\r\nConnection: close\r\n\r\n`);
      const head = raw.split("\r\n\r\n")[0] ?? "";
      expect(head, JSON.stringify(h)).not.toMatch(/set-cookie:\s*injected/i);
      expect(head).toMatch(/^HTTP\/1\.1 (400|401) /);
    }
    expect(await healthy()).toBe(true);
    report("security", "header injection (raw CR/LF/NUL)", { cases: attempts.length, passed: attempts.length });
  });

  it("a client's X-Request-Id is echoed only when it is a plain token; Host games change nothing", async () => {
    const hostile = ['"><script>alert(1)</script>', "a b", "a;b=c", "x".repeat(65), "é", "../../etc/passwd"];
    for (const id of hostile) {
      const r = await rawHttp(origin.url, { method: "GET", path: "/health", headers: { "x-request-id": id } });
      expect(r.headers["x-request-id"]).not.toBe(id);
      expect(String(r.headers["x-request-id"])).toMatch(/^[\w=-]{1,64}$/);
    }
    const good = await rawHttp(origin.url, { method: "GET", path: "/health", headers: { "x-request-id": "abc-123_x=" } });
    expect(good.headers["x-request-id"]).toBe("abc-123_x=");
    // Without the edge secret the Host header and the forwarding headers never reach an answer.
    for (const p of ["/api/v1/test-helpers", "/api/v1/collectors", "/apidocs", "/api/v1/manifest"]) {
      const r = await rawHttp(origin.url, { method: "GET", path: p, headers: { host: "evil.example", "x-forwarded-host": "evil.example", "x-ooni-bridge-host": "evil.example", "x-forwarded-proto": "javascript" } });
      expect(r.status, p).toBeLessThan(500);
      expect(r.text, p).not.toContain("evil.example");
      expect(JSON.stringify(r.headers), p).not.toContain("evil.example");
    }
    report("security", "header injection (echoed values, Host)", { cases: hostile.length + 1 + 4, passed: hostile.length + 1 + 4 });
  });

  it("CORS answers only the allowed OONI sites, exactly (look-alikes refused); login links only go to the login sites", async () => {
    const origins = [
      "https://evil.example",
      "https://explorer.ooni.org.evil.example",
      "null",
      "https://explorer.ooni.org:444",
      "http://explorer.ooni.org",
      "https://EXPLORER.ooni.org.",
      "https://a.b.ooni.org",
      "https://xooni.org",
    ];
    for (const o of origins) {
      const pre = await rawHttp(origin.url, { method: "OPTIONS", path: "/api/v1/user_register", headers: { origin: o, "access-control-request-method": "POST" } });
      expect(pre.headers["access-control-allow-origin"], o).toBeUndefined();
    }
    const allowed = await rawHttp(origin.url, { method: "OPTIONS", path: "/api/v1/user_register", headers: { origin: "https://explorer.ooni.org", "access-control-request-method": "POST" } });
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://explorer.ooni.org");
    const redirects = [
      "https://explorer.ooni.org@evil.example/",
      "https://evil.example/?https://explorer.ooni.org/",
      "//evil.example/",
      "javascript:alert(1)//explorer.ooni.org",
      "https://explorer.ooni.org.evil.example/",
      "https://explorer.ooni.org\r\nBcc: victim@evil.example",
      "https://explorer.ooni.org%0d%0aBcc:victim@evil.example",
    ];
    for (const redirect_to of redirects) {
      const r = await fetch(`${origin.url}/api/v1/user_register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email_address: "victim@sec.example.org", redirect_to }) });
      const text = await r.text();
      expect(r.status, `${redirect_to}: ${text}`).toBe(400);
    }
    for (const email of ["a@b.example\r\nBcc: x@evil.example", "a@b.example\nSubject: x", "a@b.example>, <x@evil.example"]) {
      const r = await fetch(`${origin.url}/api/v1/user_register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email_address: email, redirect_to: "https://explorer.ooni.org/" }) });
      expect(r.status, email).toBe(400);
    }
    report("security", "header injection (CORS, login redirect, mail headers)", { cases: origins.length + 1 + redirects.length + 3, passed: origins.length + 1 + redirects.length + 3 });
  });
});
