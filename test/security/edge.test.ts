import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { report } from "../support/reliability";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { startEdgeProcess, type EdgeProcess } from "../contract/edge-process";
import { loginViaOutbox, type Fetcher } from "../origin/oonirun/support";
import { rawHttp, type RawReply } from "./support/http";
import { ADMIN, EDGE_SECRET, JWT_SECRET } from "./support/origin";

// Attacks on the real edge Worker (wrangler dev, workerd) in front of a real origin process:
// request targets that name another host (the Worker must never send its shared secret anywhere
// but the origin), and cache poisoning — an attacker's request with unkeyed headers, odd methods,
// bodies or paths fills the cache, then a clean client asks for the same URL and must get exactly
// what the origin would answer it. Personalized (bearer, cookie) answers are never stored.

let origin: OriginProcess;
let edge: EdgeProcess;
let attacker: Server;
let attackerPort = 0;
const stolen: { method: string; url: string; headers: Record<string, unknown> }[] = [];
let admin: string;

beforeAll(async () => {
  attacker = createServer((req, res) => {
    stolen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" }).end('{"poisoned":true}');
  });
  await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", r));
  attackerPort = (attacker.address() as AddressInfo).port;
  origin = await startOriginProcess({ env: { JWT_SECRET, EDGE_SHARED_SECRET: EDGE_SECRET, ADMIN_EMAILS: ADMIN, QUOTAS_ENABLED: "false", TIMERS_IN_ORIGIN: "false" } });
  const f: Fetcher = (p, init) => fetch(`${origin.url}${p}`, init);
  admin = await loginViaOutbox(f, path.join(origin.dataDir, "outbox"), ADMIN);
  edge = await startEdgeProcess({ originUrl: origin.url, edgeSecret: EDGE_SECRET });
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await origin?.stop();
  origin?.cleanup();
  await new Promise<void>((r) => (attacker ? attacker.close(() => r()) : r()));
});

describe("request targets naming another host", () => {
  it("never make the Worker fetch that host (with or without its secret)", async () => {
    const a = `127.0.0.1:${attackerPort}`;
    const targets = [`//${a}/steal`, `//${a}/api/v1/aggregation`, `/\\${a}/steal`, `//${a}`, `///${a}/steal`, `/%2F${a}/steal`, `/%2f%2f${a}/steal`, `//${a}@127.0.0.1/steal`];
    let cases = 0;
    const failures: string[] = [];
    for (const target of targets) {
      for (const method of ["GET", "POST"]) {
        cases++;
        const r = await rawHttp(edge.url, { method, path: "/", target, headers: { "content-type": "application/json" }, bodyText: method === "POST" ? "{}" : undefined });
        if (r.text.includes("poisoned") || r.status >= 500) failures.push(`${method} ${target} → ${r.status} ${r.text.slice(0, 100)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(stolen.map((s) => `${s.method} ${s.url} secret=${s.headers["x-ooni-edge-auth"] !== undefined}`)).toEqual([]);
    report("security", "edge request targets naming another host", { cases, passed: cases, requests_to_attacker: stolen.length });
  });
});

interface Attack {
  name: string;
  method?: string;
  headers?: Record<string, string>;
  bodyText?: string;
  /** The attacker's URL when it differs from the clean client's but shares its cache key. */
  attackerPath?: (clean: string) => string;
}

const EVIL = "evil.example";
const ATTACKS: Attack[] = [
  { name: "X-Forwarded-Host", headers: { "x-forwarded-host": EVIL } },
  { name: "X-Forwarded-Proto javascript", headers: { "x-forwarded-proto": "javascript" } },
  { name: "X-Forwarded-Scheme/Port/Prefix", headers: { "x-forwarded-scheme": "http", "x-forwarded-port": "1", "x-forwarded-prefix": "/evil" } },
  { name: "Forwarded host", headers: { forwarded: `host=${EVIL};proto=http;for=1.2.3.4` } },
  { name: "Host header", headers: { host: EVIL } },
  { name: "X-Ooni-Bridge-Host from the client", headers: { "x-ooni-bridge-host": EVIL } },
  { name: "X-Original-URL", headers: { "x-original-url": "/api/_/countries" } },
  { name: "X-Rewrite-URL", headers: { "x-rewrite-url": "/api/v1/measurements?probe_cc=US" } },
  { name: "X-HTTP-Method-Override DELETE", headers: { "x-http-method-override": "DELETE", "x-http-method": "DELETE", "x-method-override": "DELETE" } },
  { name: "Accept-Encoding gzip", headers: { "accept-encoding": "gzip" } },
  { name: "Accept-Encoding br", headers: { "accept-encoding": "br" } },
  { name: "Accept-Encoding junk", headers: { "accept-encoding": "evil;q=1" } },
  { name: "Accept text/csv", headers: { accept: "text/csv" } },
  { name: "Origin", headers: { origin: `https://${EVIL}` } },
  { name: "Authorization (admin bearer)", headers: {} }, // filled in at run time
  { name: "Cookie", headers: { cookie: `session=${"a".repeat(40)}` } },
  { name: "Range", headers: { range: "bytes=0-10" } },
  { name: "If-None-Match *", headers: { "if-none-match": "*" } },
  { name: "If-Modified-Since future", headers: { "if-modified-since": "Fri, 01 Jan 2100 00:00:00 GMT" } },
  { name: "X-Request-Id", headers: { "x-request-id": "attacker-request-id" } },
  { name: "X-Forwarded-For / CF-Connecting-IP", headers: { "x-forwarded-for": "198.51.100.7", "cf-connecting-ip": "198.51.100.7", "x-ooni-edge-auth": "guess" } },
  { name: "Content-Type text/csv on GET", headers: { "content-type": "text/csv" } },
  { name: "fat GET body", bodyText: '{"probe_cc":"US","limit":1}', headers: { "content-type": "application/json" } },
  { name: "HEAD", method: "HEAD" },
  { name: "OPTIONS", method: "OPTIONS", headers: { origin: `https://${EVIL}`, "access-control-request-method": "GET" } },
  { name: "utm_* and fbclid (dropped from the key)", attackerPath: (p) => `${p}&utm_source=${EVIL}&fbclid=x` },
  { name: "parameters reordered", attackerPath: (p) => { const [a, q] = p.split("?"); return `${a}?${q!.split("&").reverse().join("&")}`; } },
  { name: "mixed-case path", attackerPath: (p) => p.replace("/api/", "/API/") },
  { name: "double slash path", attackerPath: (p) => `/${p}` },
  { name: "encoded path", attackerPath: (p) => p.replace("/api/", "/%61pi/") },
  { name: "trailing slash", attackerPath: (p) => p.replace("?", "/?") },
];

/** What a client sees that an attacker could want to shape. Timings and per-request ids are left out. */
function shape(r: RawReply): Record<string, unknown> {
  let body: unknown = r.text;
  try {
    body = JSON.parse(r.text, (k, v) => (k === "db_stats" || k === "query_time" ? undefined : v));
  } catch {
    /* not JSON */
  }
  const h = (n: string) => r.headers[n];
  return {
    status: r.status,
    body,
    "content-type": h("content-type"),
    "content-encoding": h("content-encoding"),
    "content-disposition": h("content-disposition"),
    "set-cookie": h("set-cookie"),
    location: h("location"),
    "access-control-allow-origin": h("access-control-allow-origin"),
    vary: h("vary"),
  };
}

describe("edge cache poisoning", () => {
  it("a clean client after each attack gets what the origin would answer it, never the attacker's shape", async () => {
    const attacks = ATTACKS.map((a) => (a.name.startsWith("Authorization") ? { ...a, headers: { authorization: `Bearer ${admin}` } } : a));
    const failures: string[] = [];
    let cases = 0;
    let hits = 0;
    for (const [i, a] of attacks.entries()) {
      // Fresh cache keys per attack (the limit differs), on three kinds of cached route.
      for (const clean of [`/api/v1/measurements?probe_cc=IT&limit=${i + 1}`, `/api/_/countries?x=${i}`, `/api/v1/aggregation?probe_cc=IT&since=2020-01-01&until=2020-0${1 + (i % 9)}-02&axis_x=measurement_start_day&n=${i}`]) {
        cases++;
        const attackPath = a.attackerPath ? a.attackerPath(clean) : clean;
        await rawHttp(edge.url, { method: a.method ?? "GET", path: "/", target: attackPath, headers: a.headers, bodyText: a.bodyText });
        const got = await rawHttp(edge.url, { method: "GET", path: clean });
        if (got.headers["x-cache"] === "HIT") hits++;
        const reference = await rawHttp(origin.url, { method: "GET", path: clean });
        const want = { ...shape(reference), "access-control-allow-origin": "*" };
        const seen = shape(got);
        if (JSON.stringify(seen) !== JSON.stringify(want)) {
          failures.push(`[${a.name}] ${clean} (${got.headers["x-cache"]}): ${JSON.stringify(seen).slice(0, 300)} ≠ ${JSON.stringify(want).slice(0, 300)}`);
        }
        if (got.text.includes(EVIL) || got.headers["x-request-id"] === "attacker-request-id") failures.push(`[${a.name}] ${clean}: attacker value in the clean answer`);
      }
    }
    report("security", "edge cache poisoning (unkeyed inputs)", { attacks: attacks.length, cases, clean_hits: hits, passed: cases - failures.length });
    expect(failures).toEqual([]);
    expect(hits).toBeGreaterThan(cases / 3); // the cache was really in play
  });

  it("personalized answers (bearer, cookie) are never stored for others", async () => {
    const uid = "20240101000000.000001_IT_webconnectivity_00000000000000aa";
    const post = await fetch(`${edge.url}/api/_/measurement_feedback`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ measurement_uid: uid, status: "blocked" }) });
    expect(post.status).toBe(200);
    const personal = await rawHttp(edge.url, { method: "GET", path: `/api/_/measurement_feedback/${uid}`, headers: { authorization: `Bearer ${admin}` } });
    expect(personal.json.user_feedback).toBe("blocked");
    expect(personal.headers["x-cache"]).toBe("BYPASS");
    for (const headers of [{}, { cookie: "a=b" }] as Record<string, string>[]) {
      const other = await rawHttp(edge.url, { method: "GET", path: `/api/_/measurement_feedback/${uid}`, headers });
      expect(other.json.user_feedback, JSON.stringify(headers)).toBeUndefined();
      expect(other.json.summary).toEqual({ blocked: 1 });
    }
    const meta = await rawHttp(edge.url, { method: "GET", path: "/api/_/account_metadata", headers: { authorization: `Bearer ${admin}` } });
    expect(meta.json).toEqual({ logged_in: true, role: "admin" });
    const anon = await rawHttp(edge.url, { method: "GET", path: "/api/_/account_metadata" });
    expect(anon.status).toBe(200);
    expect(anon.json).toEqual({ logged_in: false, role: "" });
    // The logged-out 200 is never stored and handed to a logged-in caller (nor the reverse).
    const again = await rawHttp(edge.url, { method: "GET", path: "/api/_/account_metadata", headers: { authorization: `Bearer ${admin}` } });
    expect(again.json).toEqual({ logged_in: true, role: "admin" });
    const anonAgain = await rawHttp(edge.url, { method: "GET", path: "/api/_/account_metadata" });
    expect(anonAgain.json).toEqual({ logged_in: false, role: "" });
    report("security", "edge personalized answers", { cases: 5, passed: 5 });
  });

  it("a client's X-Request-Id is echoed only when it is a plain token (as the origin does)", async () => {
    const hostile = ['"><script>x</script>', "a b", "../../etc/passwd", "x".repeat(65)];
    for (const id of hostile) {
      const r = await rawHttp(edge.url, { method: "GET", path: "/health", headers: { "x-request-id": id } });
      expect(r.headers["x-request-id"], id).not.toBe(id);
      expect(String(r.headers["x-request-id"])).toMatch(/^[\w=-]{1,64}$/);
    }
    const ok = await rawHttp(edge.url, { method: "GET", path: "/health", headers: { "x-request-id": "plain-id_1=" } });
    expect(ok.headers["x-request-id"]).toBe("plain-id_1=");
    report("security", "edge request id echo", { cases: hostile.length + 1, passed: hostile.length + 1 });
  });

  it("origin-only endpoints stay closed through the edge, whatever a client claims", async () => {
    for (const headers of [{}, { "x-forwarded-for": "127.0.0.1" }, { "cf-connecting-ip": "127.0.0.1", "x-ooni-edge-auth": "guess" }] as Record<string, string>[]) {
      const r = await rawHttp(edge.url, { method: "GET", path: "/metrics", headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.text).not.toMatch(/^# (HELP|TYPE)/m);
    }
    report("security", "edge origin-only endpoints", { cases: 3, passed: 3 });
  });

  it("repeated parameters: the key sorts their values, so the origin must not care about their order", async () => {
    const pairs = [
      ["/api/v1/aggregation?probe_cc=US&probe_cc=IT&axis_x=probe_cc&since=2020-01-01&until=2020-02-01&r=1", "/api/v1/aggregation?probe_cc=IT&probe_cc=US&axis_x=probe_cc&since=2020-01-01&until=2020-02-01&r=1"],
      ["/api/v1/aggregation?test_name=web_connectivity&test_name=dnscheck&axis_x=test_name&since=2020-01-01&until=2020-02-01&r=2", "/api/v1/aggregation?test_name=dnscheck&test_name=web_connectivity&axis_x=test_name&since=2020-01-01&until=2020-02-01&r=2"],
      ["/api/v1/measurements?probe_cc=US&probe_cc=IT&limit=3", "/api/v1/measurements?probe_cc=IT&probe_cc=US&limit=3"],
      ["/api/v1/measurements?limit=3&limit=7", "/api/v1/measurements?limit=7&limit=3"],
      ["/api/_/countries?a=2&a=1", "/api/_/countries?a=1&a=2"],
    ];
    const failures: string[] = [];
    for (const [attack, clean] of pairs) {
      await rawHttp(edge.url, { method: "GET", path: attack! });
      const got = await rawHttp(edge.url, { method: "GET", path: clean! });
      const reference = await rawHttp(origin.url, { method: "GET", path: clean! });
      const want = { ...shape(reference), "access-control-allow-origin": "*" };
      if (JSON.stringify(shape(got)) !== JSON.stringify(want)) failures.push(`${attack} then ${clean} (${got.headers["x-cache"]}): ${JSON.stringify(shape(got)).slice(0, 200)} ≠ ${JSON.stringify(want).slice(0, 200)}`);
    }
    report("security", "edge repeated parameters", { cases: pairs.length, passed: pairs.length - failures.length });
    expect(failures).toEqual([]);
  });
});
