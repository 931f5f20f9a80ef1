import { describe, expect, it } from "vitest";
import { isBogon, isLoopback, mayConnect } from "../../../origin/src/testhelper/bogon";
import { CookieJar } from "../../../origin/src/testhelper/cookie-jar";
import { decodeAnswer, encodeQuery, formatIPv6, QTYPE_A, QTYPE_AAAA } from "../../../origin/src/testhelper/dns-wire";
import { joinHostPort, parseIpEndpoint } from "../../../origin/src/testhelper/endpoint";
import {
  classifyGeneric,
  classifyResolverError,
  classifyTlsError,
  dnsMapFailure,
  httpMapFailure,
  OoniFailure,
  scrub,
  tcpMapFailure,
} from "../../../origin/src/testhelper/failures";
import { canonicalHeaderKey, firstValues, forwardedHeaders } from "../../../origin/src/testhelper/headers";
import { htmlTitle } from "../../../origin/src/testhelper/html-title";
import { discoveredBy, explicitPort, planEndpoints } from "../../../origin/src/testhelper/ipinfo";
import { answer } from "./dns-server";

const err = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("bogons", () => {
  it.each([
    "0.1.2.3", "10.0.0.1", "100.64.0.1", "127.0.0.1", "169.254.1.1", "172.16.0.1", "172.31.255.255",
    "192.0.0.1", "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.51.100.1", "203.0.113.1", "224.0.0.1",
    "240.0.0.1", "255.255.255.255", "::", "::1", "::ffff:8.8.8.8", "fc00::1", "fe80::1", "ff02::1",
    "2001:db8::1", "2002:7f00::1", "2001:0:7f00::1", "not-an-ip", "fe80::1%eth0",
  ])("%s is a bogon", (ip) => expect(isBogon(ip)).toBe(true));

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2001:4860:4860::8888", "2a00:1450::1"])(
    "%s is not a bogon",
    (ip) => expect(isBogon(ip)).toBe(false),
  );

  it("allowLoopback exempts loopback only", () => {
    expect(isLoopback("127.1.2.3")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("10.0.0.1")).toBe(false);
    expect(mayConnect("127.0.0.1", { allowLoopback: false })).toBe(false);
    expect(mayConnect("127.0.0.1", { allowLoopback: true })).toBe(true);
    expect(mayConnect("::1", { allowLoopback: true })).toBe(true);
    expect(mayConnect("10.0.0.1", { allowLoopback: true })).toBe(false);
    expect(mayConnect("8.8.8.8", { allowLoopback: false })).toBe(true);
  });
});

describe("failure strings", () => {
  it("classifies like netxlite", () => {
    expect(classifyGeneric(err("ECONNREFUSED"))).toBe("connection_refused");
    expect(classifyGeneric(err("ECONNRESET", "read ECONNRESET"))).toBe("connection_reset");
    expect(classifyGeneric(err("ECONNRESET", "socket hang up"))).toBe("eof_error");
    expect(classifyGeneric(err("EHOSTUNREACH"))).toBe("host_unreachable");
    expect(classifyGeneric(err("ENETUNREACH"))).toBe("network_unreachable");
    expect(classifyGeneric(err("ETIMEDOUT"))).toBe("timed_out");
    expect(classifyGeneric(new OoniFailure("generic_timeout_error"))).toBe("generic_timeout_error");
    expect(classifyGeneric(new Error("boom at 10.1.2.3:443"))).toBe("unknown_failure: boom at [scrubbed]:443");
    expect(classifyResolverError(err("ENOTFOUND"))).toBe("dns_nxdomain_error");
    expect(classifyResolverError(err("EAI_AGAIN"))).toBe("dns_temporary_failure");
    expect(classifyResolverError(err("EAI_FAIL"))).toBe("dns_non_recoverable_failure");
    expect(classifyResolverError(err("ESERVFAIL"))).toBe("dns_servfail_error");
    expect(classifyTlsError(err("DEPTH_ZERO_SELF_SIGNED_CERT"))).toBe("ssl_unknown_authority");
    expect(classifyTlsError(err("UNABLE_TO_GET_ISSUER_CERT_LOCALLY"))).toBe("ssl_unknown_authority");
    expect(classifyTlsError(err("ERR_TLS_CERT_ALTNAME_INVALID"))).toBe("ssl_invalid_hostname");
    expect(classifyTlsError(err("CERT_HAS_EXPIRED"))).toBe("ssl_invalid_certificate");
    expect(classifyTlsError(err("ERR_SSL_WRONG_VERSION_NUMBER"))).toBe("ssl_failed_handshake");
    expect(
      classifyTlsError(err("ECONNRESET", "Client network socket disconnected before secure TLS connection was established")),
    ).toBe("eof_error");
  });

  it("maps to the legacy helper's names per step, as oohelperd does", () => {
    expect(tcpMapFailure(null)).toBeNull();
    expect(tcpMapFailure("connection_refused")).toBe("connection_refused_error");
    expect(tcpMapFailure("generic_timeout_error")).toBe("generic_timeout_error");
    expect(tcpMapFailure("host_unreachable")).toBe("connect_error");

    expect(httpMapFailure("dns_nxdomain_error")).toBe("dns_lookup_error");
    expect(httpMapFailure("dns_temporary_failure")).toBe("dns_lookup_error");
    expect(httpMapFailure("generic_timeout_error", "resolve")).toBe("dns_lookup_error");
    expect(httpMapFailure("generic_timeout_error", "http_round_trip")).toBe("generic_timeout_error");
    expect(httpMapFailure("connection_refused")).toBe("connection_refused_error");
    expect(httpMapFailure("dns_bogon_error")).toBe("unknown_error");
    expect(httpMapFailure("ssl_unknown_authority")).toBe("unknown_error");

    expect(dnsMapFailure("dns_nxdomain_error")).toBe("dns_name_error");
    expect(dnsMapFailure("dns_no_answer")).toBeNull();
    expect(dnsMapFailure("dns_server_misbehaving")).toBe("dns_server_failure");
    expect(dnsMapFailure("dns_refused_error")).toBe("dns_server_failure");
    expect(dnsMapFailure("dns_servfail_error")).toBe("unknown_error");
    expect(dnsMapFailure("generic_timeout_error")).toBe("unknown_error");
  });

  it("scrubs addresses", () => {
    expect(scrub("connect ECONNREFUSED 127.0.0.1:80")).toBe("connect ECONNREFUSED [scrubbed]:80");
    expect(scrub("dial [2001:db8::1]:443 failed")).toBe("dial [[scrubbed]]:443 failed");
    expect(scrub("deadbeef is fine")).toBe("deadbeef is fine");
  });
});

describe("endpoints and ip_info", () => {
  it("parses ip:port like Go's SplitHostPort, IPs only", () => {
    expect(parseIpEndpoint("1.2.3.4:443")).toEqual({ address: "1.2.3.4", port: "443" });
    expect(parseIpEndpoint("[2001:db8::1]:80")).toEqual({ address: "2001:db8::1", port: "80" });
    for (const bad of ["example.org:443", "1.2.3.4", "2001:db8::1:80", "[::1]", "1.2.3.4:99999", "[fe80::1%eth0]:80", ""]) {
      expect(parseIpEndpoint(bad)).toBeUndefined();
    }
    expect(joinHostPort("::1", 443)).toBe("[::1]:443");
  });

  it("flags who saw each address", () => {
    const flags = discoveredBy(["8.8.8.8:443", "10.0.0.1:80", "bad"], ["8.8.8.8", "1.1.1.1", "127.0.0.1"]);
    expect(Object.fromEntries(flags)).toEqual({ "8.8.8.8": 3, "10.0.0.1": 5, "1.1.1.1": 2, "127.0.0.1": 6 });
  });

  it("plans ports like oohelperd and never plans bogons", () => {
    const policy = { allowLoopback: false };
    const plan = (raw: string, addrs: string[]) => {
      const url = new URL(raw);
      return planEndpoints(url, explicitPort(raw, url), addrs, policy).map((e) => `${e.endpoint}${e.tls ? "+tls" : ""}`);
    };
    expect(plan("http://x.org/", ["8.8.8.8", "10.0.0.1"])).toEqual(["8.8.8.8:443+tls", "8.8.8.8:80"]);
    expect(plan("https://x.org/", ["2001:4860::1", "8.8.8.8"])).toEqual(["8.8.8.8:443+tls", "[2001:4860::1]:443+tls"]);
    expect(plan("http://x.org:8080/", ["8.8.8.8"])).toEqual(["8.8.8.8:8080"]);
    expect(plan("http://x.org:80/", ["8.8.8.8"])).toEqual(["8.8.8.8:80"]);
    expect(plan("https://x.org:8443/", ["8.8.8.8"])).toEqual(["8.8.8.8:8443+tls"]);
  });

  it("sees default ports written in the URL", () => {
    const port = (raw: string) => explicitPort(raw, new URL(raw));
    expect(port("http://x.org:80/")).toBe("80");
    expect(port("https://u:p@x.org:443")).toBe("443");
    expect(port("http://[::1]:80/a")).toBe("80");
    expect(port("http://x.org/")).toBeUndefined();
    expect(port("http://x.org:8080/")).toBe("8080");
  });
});

describe("http helpers", () => {
  it("extracts the title like WebGetTitle, trimmed", () => {
    // Untrimmed, exactly as measurexlite.WebGetTitle returns it (the probe compares it with its own).
    expect(htmlTitle("<html><TITLE> Hi there </TITLE>")).toBe(" Hi there ");
    expect(htmlTitle("<title>\n  Padded\t</title>")).toBe("\n  Padded\t");
    expect(htmlTitle("<title>first</title><title>second</title>")).toBe("first");
    expect(htmlTitle("<title></title>")).toBe("");
    expect(htmlTitle("<title>a<b>c</title>")).toBe("");
    expect(htmlTitle(`<title>${"é".repeat(512)}</title>`)).toBe("é".repeat(512));
    expect(htmlTitle(`<title>${"a".repeat(513)}</title>`)).toBe("");
  });

  it("canonicalises header names like Go", () => {
    expect(canonicalHeaderKey("content-type")).toBe("Content-Type");
    expect(canonicalHeaderKey("X-FORWARDED-FOR")).toBe("X-Forwarded-For");
    expect(canonicalHeaderKey("www-authenticate")).toBe("Www-Authenticate");
    expect(canonicalHeaderKey("bad header")).toBe("bad header");
    expect(firstValues([["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], ["Date", "x"]])).toEqual({ Date: "x", "Set-Cookie": "a=1" });
  });

  it("forwards only the three headers, merging case variants", () => {
    expect(
      forwardedHeaders({ "user-agent": ["a"], "User-Agent": ["b"], Accept: [], Cookie: ["c"], "accept-language": ["en"] }),
    ).toEqual({ "User-Agent": ["a", "b"], "Accept-Language": ["en"] });
  });
});

describe("cookie jar", () => {
  it("sends cookies back by domain, path and scheme", () => {
    const jar = new CookieJar();
    const now = 1_000_000;
    jar.store(new URL("http://www.example.org/a/b"), ["sid=1", "wide=2; Domain=example.org; Path=/", "sec=3; Secure; Path=/"], now);
    expect(jar.header(new URL("http://www.example.org/a/c"), now)).toBe("sid=1; wide=2");
    expect(jar.header(new URL("http://www.example.org/"), now)).toBe("wide=2");
    expect(jar.header(new URL("https://www.example.org/"), now)).toBe("wide=2; sec=3");
    expect(jar.header(new URL("https://sub.example.org/"), now)).toBe("wide=2"); // sec is host-only
    expect(jar.header(new URL("http://other.org/"), now)).toBeUndefined();
  });

  it("refuses foreign and dotless domains and honours expiry", () => {
    const jar = new CookieJar();
    const now = 1_000_000;
    jar.store(new URL("http://a.example.org/"), ["x=1; Domain=evil.org", "y=2; Domain=org", "z=3; Max-Age=0"], now);
    expect(jar.header(new URL("http://a.example.org/"), now)).toBeUndefined();
    jar.store(new URL("http://a.example.org/"), ["t=1; Max-Age=10"], now);
    expect(jar.header(new URL("http://a.example.org/"), now + 5_000)).toBe("t=1");
    expect(jar.header(new URL("http://a.example.org/"), now + 11_000)).toBeUndefined();
    jar.store(new URL("http://localhost/"), ["h=1; Domain=localhost"], now);
    expect(jar.header(new URL("http://localhost/"), now)).toBe("h=1");
  });

  it("refuses Domain attributes that are public suffixes, as Go's jar with publicsuffix.List", () => {
    const jar = new CookieJar();
    const now = 1_000_000;
    jar.store(new URL("http://shop.example.co.uk/"), ["a=1; Domain=co.uk", "b=2; Domain=example.co.uk"], now);
    // Domain=co.uk is refused; the cookie for the registrable domain reaches its other hosts.
    expect(jar.header(new URL("http://other.example.co.uk/"), now)).toBe("b=2");
    expect(jar.header(new URL("http://victim.co.uk/"), now)).toBeUndefined();
    // The private section counts too: one github.io site cannot set cookies for all of them.
    jar.store(new URL("http://me.github.io/"), ["c=3; Domain=github.io"], now);
    expect(jar.header(new URL("http://you.github.io/"), now)).toBeUndefined();
    // A host that is itself a public suffix may name itself: the cookie becomes host-only.
    jar.store(new URL("http://github.io/"), ["d=4; Domain=github.io"], now);
    expect(jar.header(new URL("http://github.io/"), now)).toBe("d=4");
    expect(jar.header(new URL("http://you.github.io/"), now)).toBeUndefined();
  });
});

describe("DNS wire format", () => {
  it("encodes a query and decodes answers with compression, CNAMEs and rcodes", () => {
    const q = Buffer.from(encodeQuery("Example.ORG.", QTYPE_A));
    expect(q.readUInt16BE(0)).toBe(0);
    expect(q.subarray(12).toString("latin1")).toBe("\x07Example\x03ORG\x00\x00\x01\x00\x01");
    const zone = { "example.org": { a: ["93.184.216.34", "10.0.0.1"], aaaa: ["2001:db8::1", "2606:2800:220:1:248:1893:25c8:1946"] } };
    expect(decodeAnswer(answer(q, zone), QTYPE_A)).toEqual(["93.184.216.34", "10.0.0.1"]);
    const q6 = Buffer.from(encodeQuery("example.org", QTYPE_AAAA));
    expect(decodeAnswer(answer(q6, zone), QTYPE_AAAA)).toEqual(["2001:db8::1", "2606:2800:220:1:248:1893:25c8:1946"]);
    expect(decodeAnswer(answer(q, { "example.org": { aaaa: ["::1"] } }), QTYPE_A)).toEqual([]);
    expect(() => decodeAnswer(answer(q, {}), QTYPE_A)).toThrow(expect.objectContaining({ failure: "dns_nxdomain_error" }));
    expect(() => decodeAnswer(answer(q, { "example.org": { rcode: 5 } }), QTYPE_A)).toThrow(
      expect.objectContaining({ failure: "dns_refused_error" }),
    );
    expect(() => decodeAnswer(q, QTYPE_A)).toThrow(expect.objectContaining({ failure: "dns_server_misbehaving" }));
    expect(() => decodeAnswer(answer(q, zone).subarray(0, 40), QTYPE_A)).toThrow(
      expect.objectContaining({ failure: "dns_server_misbehaving" }),
    );
  });

  it("prints IPv6 like RFC 5952", () => {
    const b = (hex: string) => Buffer.from(hex.replace(/:/g, ""), "hex");
    expect(formatIPv6(b("2001:0db8:0000:0000:0000:0000:0000:0001"))).toBe("2001:db8::1");
    expect(formatIPv6(b("0000:0000:0000:0000:0000:0000:0000:0001"))).toBe("::1");
    expect(formatIPv6(b("0000:0000:0000:0000:0000:0000:0000:0000"))).toBe("::");
    expect(formatIPv6(b("2001:0db8:0000:0001:0000:0000:0000:0001"))).toBe("2001:db8:0:1::1");
    expect(formatIPv6(b("2001:0db8:0000:0001:0001:0001:0001:0001"))).toBe("2001:db8:0:1:1:1:1:1");
    expect(formatIPv6(b("fe80:0000:0000:0000:0000:0000:0000:0000"))).toBe("fe80::");
  });
});
