import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHelper, type Resolver, type RunningTestHelper, type TestHelperServerOptions } from "../../../origin/src/testhelper";
import {
  closedPort,
  FINAL_PAGE,
  makeSelfSigned,
  PAGE,
  postControl,
  startHangingServer,
  startHttpsTarget,
  startHttpTarget,
  type SelfSigned,
  type Target,
} from "./fixtures";
import { startDohServer } from "./dns-server";

/** A resolver for made-up names; anything else is NXDOMAIN, as getaddrinfo reports it. */
function zoneResolver(zone: Record<string, string[]>): Resolver {
  return async (domain) => {
    const addrs = zone[domain];
    if (addrs === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${domain}`), { code: "ENOTFOUND" });
    return addrs;
  };
}

const helpers: RunningTestHelper[] = [];
async function helper(opts: Partial<TestHelperServerOptions> = {}): Promise<string> {
  const th = await startTestHelper({ host: "127.0.0.1", port: 0, allowLoopback: true, ...opts });
  helpers.push(th);
  return th.url;
}

let cert: SelfSigned;
let http: Target;
let https: Target;
let hanging: Awaited<ReturnType<typeof startHangingServer>>;

beforeAll(async () => {
  cert = makeSelfSigned();
  [http, https, hanging] = await Promise.all([startHttpTarget(), startHttpsTarget(cert), startHangingServer()]);
});

afterAll(async () => {
  await Promise.all(helpers.map((h) => h.close()));
  await Promise.all([http.close(), https.close(), hanging.close()]);
});

describe("plain http target", () => {
  it("answers the exact oohelperd shape", async () => {
    const th = await helper();
    const ep = `127.0.0.1:${http.port}`;
    const { status, contentType, json } = await postControl(th, {
      http_request: `http://${ep}/`,
      http_request_headers: {},
      tcp_connect: [ep],
    });
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/json/);
    expect(Object.keys(json)).toEqual([
      "tcp_connect",
      "tls_handshake",
      "quic_handshake",
      "http_request",
      "http3_request",
      "dns",
      "ip_info",
    ]);
    expect(json).toEqual({
      tcp_connect: { [ep]: { status: true, failure: null } },
      tls_handshake: {},
      quic_handshake: {},
      http_request: {
        body_length: Buffer.byteLength(PAGE),
        discovered_h3_endpoint: "",
        failure: null,
        title: "Hello target",
        headers: expect.any(Object),
        status_code: 200,
      },
      http3_request: null,
      // oohelperd does not look up IP-literal URLs
      dns: { failure: null, addrs: [] },
      // 1 = from the probe's tcp_connect, 4 = bogon (loopback; allowed here by allowLoopback)
      ip_info: { "127.0.0.1": { asn: 0, flags: 5 } },
    });
    expect(Object.keys(json.http_request)).toEqual([
      "body_length",
      "discovered_h3_endpoint",
      "failure",
      "title",
      "headers",
      "status_code",
    ]);
    // Go-style canonical names, first value only. We send no `Connection: close` (Go does not), so
    // the server keeps the connection alive as it would for the probe; Transfer-Encoding is never
    // reported (Go moves it out of the header).
    expect(json.http_request.headers).toEqual({
      Connection: "keep-alive",
      "Content-Type": "text/html",
      Date: expect.any(String),
      "Keep-Alive": "timeout=5",
      "X-Multi": "one",
    });
  });

  it("forwards only Accept, Accept-Language and User-Agent", async () => {
    const th = await helper();
    const before = http.seen.length;
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/headers`,
      http_request_headers: {
        "User-Agent": ["Mozilla/5.0 test"],
        accept: ["text/html"],
        "ACCEPT-LANGUAGE": ["it-IT"],
        Cookie: ["secret=1"],
        Authorization: ["Bearer x"],
        "X-Custom": ["nope"],
        Host: ["evil.example"],
        Referer: ["http://evil.example/"],
      },
      tcp_connect: [],
    });
    expect(json.http_request.status_code).toBe(200);
    const got = http.seen.slice(before);
    expect(got).toHaveLength(1);
    const h = got[0]!.headers;
    expect(h["user-agent"]).toBe("Mozilla/5.0 test");
    expect(h["accept"]).toBe("text/html");
    expect(h["accept-language"]).toBe("it-IT");
    expect(h["host"]).toBe(`127.0.0.1:${http.port}`);
    for (const name of ["cookie", "authorization", "x-custom", "referer", "accept-encoding"]) expect(h[name]).toBeUndefined();
    // Exactly what Go's client sends: no Connection, no Accept-Encoding (oohelperd disables compression).
    expect(Object.keys(h).sort()).toEqual(["accept", "accept-language", "host", "user-agent"]);
  });

  it("follows a redirect chain like a browser (method, headers, cookies, Referer)", async () => {
    const th = await helper();
    const before = http.seen.length;
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/r1`,
      http_request_headers: { "User-Agent": ["ua-redirect"], Accept: ["*/*"] },
      tcp_connect: [],
    });
    expect(json.http_request).toMatchObject({
      body_length: Buffer.byteLength(FINAL_PAGE),
      failure: null,
      title: "\n  Final page  \n",
      status_code: 200,
    });
    expect(json.http_request.headers["X-Final"]).toBe("yes");
    const hops = http.seen.slice(before);
    expect(hops.map((s) => s.path)).toEqual(["/r1", "/r2", "/r3", "/final"]);
    for (const hop of hops) {
      expect(hop.headers["user-agent"]).toBe("ua-redirect");
      expect(hop.headers["accept"]).toBe("*/*");
    }
    expect(hops[0]!.headers.cookie).toBeUndefined();
    expect(hops[1]!.headers.cookie).toBe("sid=abc");
    expect(hops[3]!.headers.cookie).toBe("sid=abc");
    expect(hops[3]!.headers.referer).toBe(`http://127.0.0.1:${http.port}/r3`);
  });

  it("gives up at the 10th redirect, before an 11th request, like Go's client (the probe's own limit)", async () => {
    const th = await helper();
    const before = http.seen.length;
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/loop`,
      http_request_headers: {},
      tcp_connect: [],
    });
    expect(json.http_request).toEqual({
      body_length: -1,
      discovered_h3_endpoint: "",
      failure: "unknown_error",
      title: "",
      headers: {},
      status_code: -1,
    });
    expect(http.seen.length - before).toBe(10);
  });

  it("treats a 3xx without Location as the final response", async () => {
    const th = await helper();
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/no-location`,
      http_request_headers: {},
      tcp_connect: [],
    });
    expect(json.http_request).toMatchObject({ status_code: 302, failure: null, body_length: 16 });
  });

  it("reads at most maxBodyBytes of the page", async () => {
    const th = await helper({ maxBodyBytes: 1000 });
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/big`,
      http_request_headers: {},
      tcp_connect: [],
    });
    expect(json.http_request).toMatchObject({ status_code: 200, failure: null, body_length: 1000 });
  });

  it("reports the injected ASN", async () => {
    const th = await helper({ lookupAsn: (ip) => (ip === "127.0.0.1" ? 64496 : 0) });
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/`,
      http_request_headers: {},
      tcp_connect: [`127.0.0.1:${http.port}`],
    });
    expect(json.ip_info).toEqual({ "127.0.0.1": { asn: 64496, flags: 5 } });
  });

  it("measures the URL's port, not the probe's, and skips non-IP entries", async () => {
    const th = await helper();
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/`,
      http_request_headers: {},
      tcp_connect: [`127.0.0.1:1`, "example.org:443", "garbage"],
    });
    expect(json.tcp_connect).toEqual({ [`127.0.0.1:${http.port}`]: { status: true, failure: null } });
    expect(json.ip_info).toEqual({ "127.0.0.1": { asn: 0, flags: 5 } });
  });
});

describe("many endpoints", () => {
  it("measures dozens of endpoints without listener-leak warnings", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      const th = await helper();
      const eps = Array.from({ length: 30 }, (_, i) => `127.0.0.${i + 1}:${http.port}`);
      const { json } = await postControl(th, { http_request: `http://127.0.0.1:${http.port}/`, http_request_headers: {}, tcp_connect: eps });
      expect(Object.keys(json.tcp_connect)).toHaveLength(30);
      expect(json.tcp_connect[`127.0.0.1:${http.port}`]).toEqual({ status: true, failure: null });
      expect(json.tcp_connect[`127.0.0.2:${http.port}`]).toEqual({ status: false, failure: "connection_refused_error" });
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.filter((w) => w.includes("MaxListeners"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("IPv6 loopback", () => {
  it("measures [::1]:port endpoints", async (ctx) => {
    const v6 = await startHttpTarget("::1").catch(() => undefined);
    if (!v6) return ctx.skip(); // no IPv6 loopback on this machine
    try {
      const th = await helper();
      const ep = `[::1]:${v6.port}`;
      const { json } = await postControl(th, { http_request: `http://${ep}/`, http_request_headers: {}, tcp_connect: [ep] });
      expect(json.tcp_connect).toEqual({ [ep]: { status: true, failure: null } });
      expect(json.http_request).toMatchObject({ failure: null, status_code: 200, title: "Hello target" });
      expect(json.ip_info).toEqual({ "::1": { asn: 0, flags: 5 } });
      expect(v6.seen.at(-1)?.headers.host).toBe(ep);
    } finally {
      await v6.close();
    }
  });
});

describe("failures", () => {
  it("closed port: connection_refused_error for TCP and HTTP", async () => {
    const th = await helper();
    const port = await closedPort();
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${port}/`,
      http_request_headers: {},
      tcp_connect: [`127.0.0.1:${port}`],
    });
    expect(json).toEqual({
      tcp_connect: { [`127.0.0.1:${port}`]: { status: false, failure: "connection_refused_error" } },
      tls_handshake: {},
      quic_handshake: {},
      http_request: {
        body_length: -1,
        discovered_h3_endpoint: "",
        failure: "connection_refused_error",
        title: "",
        headers: {},
        status_code: -1,
      },
      http3_request: null,
      dns: { failure: null, addrs: [] },
      ip_info: { "127.0.0.1": { asn: 0, flags: 5 } },
    });
  });

  it("hanging server: TCP connects, HTTP times out with generic_timeout_error", async () => {
    const th = await helper({ httpTimeoutMs: 400 });
    const ep = `127.0.0.1:${hanging.port}`;
    const t0 = Date.now();
    const { json } = await postControl(th, { http_request: `http://${ep}/`, http_request_headers: {}, tcp_connect: [ep] });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(json.tcp_connect).toEqual({ [ep]: { status: true, failure: null } });
    expect(json.http_request).toEqual({
      body_length: -1,
      discovered_h3_endpoint: "",
      failure: "generic_timeout_error",
      title: "",
      headers: {},
      status_code: -1,
    });
  });

  it("hanging server: the TLS handshake times out", async () => {
    const th = await helper({ tcpTlsTimeoutMs: 400, httpTimeoutMs: 400 });
    const ep = `127.0.0.1:${hanging.port}`;
    const { json } = await postControl(th, { http_request: `https://${ep}/`, http_request_headers: {}, tcp_connect: [ep] });
    expect(json.tcp_connect).toEqual({ [ep]: { status: true, failure: null } });
    expect(json.tls_handshake).toEqual({
      [ep]: { server_name: "127.0.0.1", status: false, failure: "generic_timeout_error" },
    });
    expect(json.http_request.failure).toBe("generic_timeout_error");
  });

  it("DNS: NXDOMAIN is dns_name_error and the fetch fails with dns_lookup_error", async () => {
    const th = await helper({ resolver: zoneResolver({}) });
    const { json } = await postControl(th, { http_request: "http://nx.test/", http_request_headers: {}, tcp_connect: [] });
    expect(json.dns).toEqual({ failure: "dns_name_error", addrs: [] });
    expect(json.http_request).toMatchObject({ failure: "dns_lookup_error", body_length: -1, status_code: -1 });
    expect(json.tcp_connect).toEqual({});
    expect(json.ip_info).toEqual({});
  });

  it("DNS: a resolver that never answers times out (unknown_error / dns_lookup_error)", async () => {
    const never: Resolver = () => new Promise<string[]>(() => {});
    const th = await helper({ resolver: never, dnsTimeoutMs: 200, httpTimeoutMs: 300 });
    const t0 = Date.now();
    const { json } = await postControl(th, { http_request: "http://slow.test/", http_request_headers: {}, tcp_connect: [] });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(json.dns).toEqual({ failure: "unknown_error", addrs: [] });
    expect(json.http_request.failure).toBe("dns_lookup_error");
  });

  it("DNS: temporary failures are dns_server_failure; no answer is not a failure", async () => {
    const resolver: Resolver = async (d) => {
      if (d === "again.test") throw Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" });
      return [];
    };
    const th = await helper({ resolver });
    const again = await postControl(th, { http_request: "http://again.test/", http_request_headers: {}, tcp_connect: [] });
    expect(again.json.dns).toEqual({ failure: "dns_server_failure", addrs: [] });
    expect(again.json.http_request.failure).toBe("dns_lookup_error");
    const empty = await postControl(th, { http_request: "http://empty.test/", http_request_headers: {}, tcp_connect: [] });
    expect(empty.json.dns).toEqual({ failure: null, addrs: [] });
    expect(empty.json.http_request.failure).toBe("dns_lookup_error");
  });
});

describe("TLS", () => {
  it("self-signed certificate: ssl_unknown_authority, and the fetch fails", async () => {
    const th = await helper();
    const ep = `127.0.0.1:${https.port}`;
    const { json } = await postControl(th, { http_request: `https://${ep}/`, http_request_headers: {}, tcp_connect: [ep] });
    expect(json.tcp_connect).toEqual({ [ep]: { status: true, failure: null } });
    expect(json.tls_handshake).toEqual({
      [ep]: { server_name: "127.0.0.1", status: false, failure: "ssl_unknown_authority" },
    });
    expect(json.http_request).toMatchObject({ failure: "unknown_error", body_length: -1, status_code: -1 });
    expect(json.ip_info).toEqual({ "127.0.0.1": { asn: 0, flags: 5 } });
  });

  it("with the CA injected: handshake and fetch succeed, and the address is valid for the domain", async () => {
    const th = await helper({ ca: cert.cert });
    const ep = `127.0.0.1:${https.port}`;
    const { json } = await postControl(th, { http_request: `https://${ep}/r1`, http_request_headers: {}, tcp_connect: [ep] });
    expect(json.tls_handshake).toEqual({ [ep]: { server_name: "127.0.0.1", status: true, failure: null } });
    expect(json.http_request).toMatchObject({ failure: null, status_code: 200, title: "\n  Final page  \n" });
    // 1 probe + 4 bogon + 8 valid for domain
    expect(json.ip_info).toEqual({ "127.0.0.1": { asn: 0, flags: 13 } });
  });

  it("a name the certificate does not cover: ssl_invalid_hostname", async () => {
    const th = await helper({ ca: cert.cert, resolver: zoneResolver({ "wrong.test": ["127.0.0.1"] }) });
    const { json } = await postControl(th, {
      http_request: `https://wrong.test:${https.port}/`,
      http_request_headers: {},
      tcp_connect: [],
    });
    expect(json.dns).toEqual({ failure: null, addrs: ["127.0.0.1"] });
    expect(json.tls_handshake).toEqual({
      [`127.0.0.1:${https.port}`]: { server_name: "wrong.test", status: false, failure: "ssl_invalid_hostname" },
    });
    expect(json.http_request.failure).toBe("unknown_error");
    // 2 resolved by the helper + 4 bogon, no 8
    expect(json.ip_info).toEqual({ "127.0.0.1": { asn: 0, flags: 6 } });
  });

  it("localhost through the system resolver, SNI localhost", async () => {
    const th = await helper({ ca: cert.cert });
    const { json } = await postControl(th, {
      http_request: `https://localhost:${https.port}/`,
      http_request_headers: {},
      tcp_connect: [`127.0.0.1:${https.port}`],
    });
    expect(json.dns.failure).toBeNull();
    expect(json.dns.addrs).toContain("127.0.0.1");
    expect(json.tls_handshake[`127.0.0.1:${https.port}`]).toEqual({ server_name: "localhost", status: true, failure: null });
    expect(json.ip_info["127.0.0.1"]).toEqual({ asn: 0, flags: 1 | 2 | 4 | 8 });
    expect(json.http_request).toMatchObject({ failure: null, status_code: 200, title: "Hello target" });
  });
});

describe("bogons (allowLoopback: false)", () => {
  it("never connects to a bogon the probe sent", async () => {
    const th = await helper({ allowLoopback: false });
    const before = http.connections();
    const ep = `127.0.0.1:${http.port}`;
    const { json } = await postControl(th, { http_request: `http://${ep}/`, http_request_headers: {}, tcp_connect: [ep] });
    expect(json).toEqual({
      tcp_connect: {},
      tls_handshake: {},
      quic_handshake: {},
      http_request: {
        body_length: -1,
        discovered_h3_endpoint: "",
        failure: "unknown_error", // dns_bogon_error, which the legacy mapping does not name
        title: "",
        headers: {},
        status_code: -1,
      },
      http3_request: null,
      dns: { failure: null, addrs: [] },
      ip_info: { "127.0.0.1": { asn: 0, flags: 5 } },
    });
    expect(http.connections()).toBe(before);
  });

  it("never connects to a name that resolves to bogons", async () => {
    const resolver = zoneResolver({ "bogon.test": ["10.0.0.1", "127.0.0.1", "::1"] });
    const th = await helper({ allowLoopback: false, resolver });
    const before = http.connections();
    const { json } = await postControl(th, {
      http_request: `http://bogon.test:${http.port}/`,
      http_request_headers: {},
      tcp_connect: ["192.168.1.1:80"],
    });
    expect(json.dns).toEqual({ failure: null, addrs: ["10.0.0.1", "127.0.0.1", "::1"] });
    expect(json.tcp_connect).toEqual({});
    expect(json.http_request).toMatchObject({ failure: "unknown_error", status_code: -1 });
    expect(json.ip_info).toEqual({
      "10.0.0.1": { asn: 0, flags: 6 },
      "127.0.0.1": { asn: 0, flags: 6 },
      "192.168.1.1": { asn: 0, flags: 5 },
      "::1": { asn: 0, flags: 6 },
    });
    expect(http.connections()).toBe(before);
  });

  it("fails a redirect to a name with any bogon answer, without dialling the allowed one", async () => {
    // allowLoopback lets the first hop reach the target; second.test also answers a private address,
    // and like oohelperd's bogon-filtering resolver one bogon answer fails the whole fetch.
    const resolver = zoneResolver({ "second.test": ["127.0.0.1", "10.1.2.3"] });
    const th = await helper({ resolver });
    const before = http.seen.length;
    const { json } = await postControl(th, {
      http_request: `http://127.0.0.1:${http.port}/to-second`,
      http_request_headers: {},
      tcp_connect: [],
    });
    expect(json.http_request).toMatchObject({ failure: "unknown_error", body_length: -1, status_code: -1 });
    expect(http.seen.slice(before).map((s) => s.path)).toEqual(["/to-second"]);
  });
});

describe("DNS over HTTPS (wire format)", () => {
  it("resolves through the DoH server for both the DNS step and the fetch", async () => {
    const doh = await startDohServer({
      "doh.test": { a: ["127.0.0.1"] },
      "v6.test": { aaaa: ["2001:db8::1"] },
      "nx.test": { rcode: 3 },
      "servfail.test": { rcode: 2 },
    });
    try {
      const th = await helper({ dohUrl: doh.url });
      const ok = await postControl(th, {
        http_request: `http://doh.test:${http.port}/`,
        http_request_headers: {},
        tcp_connect: [`127.0.0.1:${http.port}`],
      });
      expect(ok.json.dns).toEqual({ failure: null, addrs: ["127.0.0.1"] });
      expect(ok.json.tcp_connect).toEqual({ [`127.0.0.1:${http.port}`]: { status: true, failure: null } });
      expect(ok.json.http_request).toMatchObject({ failure: null, status_code: 200 });
      expect(ok.json.ip_info).toEqual({ "127.0.0.1": { asn: 0, flags: 7 } });
      expect(doh.queries).toEqual(expect.arrayContaining(["doh.test/1", "doh.test/28"]));

      // a documentation-range v6 answer is a bogon: reported, never dialled
      const v6 = await postControl(th, { http_request: "https://v6.test/", http_request_headers: {}, tcp_connect: [] });
      expect(v6.json.dns).toEqual({ failure: null, addrs: ["2001:db8::1"] });
      expect(v6.json.tcp_connect).toEqual({});
      expect(v6.json.ip_info).toEqual({ "2001:db8::1": { asn: 0, flags: 6 } });

      const nx = await postControl(th, { http_request: "http://nx.test/", http_request_headers: {}, tcp_connect: [] });
      expect(nx.json.dns).toEqual({ failure: "dns_name_error", addrs: [] });
      expect(nx.json.http_request.failure).toBe("dns_lookup_error");

      const sf = await postControl(th, { http_request: "http://servfail.test/", http_request_headers: {}, tcp_connect: [] });
      expect(sf.json.dns).toEqual({ failure: "unknown_error", addrs: [] }); // oohelperd: servfail is not a legacy name
    } finally {
      await doh.close();
    }
  });
});
