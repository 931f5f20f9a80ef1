import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHelper, type RunningTestHelper } from "../../../origin/src/testhelper";
import { verifyLikeGo } from "../../../origin/src/testhelper/cert-verify";
import { classifyTlsError } from "../../../origin/src/testhelper/failures";
import { http1Get } from "../../../origin/src/testhelper/http1-client";
import { makeSelfSigned, postControl, startHttpsTarget, type SelfSigned, type Target } from "./fixtures";

// A certificate wrong in several ways fails with the reason Go's x509 Verify finds first — leaf
// validity, then the name, then the chain — because that is what oohelperd reports (issue 17d).
// The server's certificate is self-signed for localhost / 127.0.0.1 and valid for one day.

let cert: SelfSigned;
let https: Target;
let cnOnlyCert: SelfSigned;
let cnOnly: Target;
let helper: RunningTestHelper;

beforeAll(async () => {
  cert = makeSelfSigned();
  https = await startHttpsTarget(cert);
  cnOnlyCert = makeSelfSigned({ cnOnly: true });
  cnOnly = await startHttpsTarget(cnOnlyCert);
  helper = await startTestHelper({
    host: "127.0.0.1",
    port: 0,
    allowLoopback: true,
    resolver: async (d) => (d === "wrong.test" || d === "localhost" ? ["127.0.0.1"] : []),
  });
});

afterAll(async () => {
  await helper.close();
  await https.close();
  await cnOnly.close();
});

/** The code verifyLikeGo answers for one real handshake with our target. */
async function verdict(serverName: string, opts: { ca?: string; now?: number; target?: Target } = {}): Promise<string | null> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port: (opts.target ?? https).port,
    ...(serverName === "127.0.0.1" ? {} : { servername: serverName }),
    rejectUnauthorized: false,
    checkServerIdentity: (_n, c) => tls.checkServerIdentity(serverName, c),
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    const err = verifyLikeGo(socket, serverName, opts.now);
    return err === null ? null : classifyTlsError(err);
  } finally {
    socket.destroy();
  }
}

describe("certificate checks in Go's order", () => {
  const inTenYears = Date.now() + 10 * 365 * 24 * 3600 * 1000;

  it("expired, untrusted and for another name: ssl_invalid_certificate (the leaf's dates come first)", async () => {
    expect(await verdict("wrong.test", { now: inTenYears })).toBe("ssl_invalid_certificate");
    expect(await verdict("wrong.test", { now: 0 })).toBe("ssl_invalid_certificate");
  });

  it("untrusted and for another name: ssl_invalid_hostname (the name before the chain)", async () => {
    expect(await verdict("wrong.test")).toBe("ssl_invalid_hostname");
  });

  it("untrusted but for this name: ssl_unknown_authority", async () => {
    expect(await verdict("localhost")).toBe("ssl_unknown_authority");
    expect(await verdict("127.0.0.1")).toBe("ssl_unknown_authority");
  });

  it("trusted and for this name: accepted; trusted for another name: ssl_invalid_hostname", async () => {
    expect(await verdict("localhost", { ca: cert.cert })).toBeNull();
    expect(await verdict("wrong.test", { ca: cert.cert })).toBe("ssl_invalid_hostname");
  });
});

describe("a certificate with no subjectAltName (its name only in the Common Name)", () => {
  it("is for no host name, trusted or not: ssl_invalid_hostname, as Go (Node alone would match the CN)", async () => {
    // Node's own check accepts the CN: the case this guards against.
    const peer = { subject: { CN: "localhost" } } as unknown as tls.PeerCertificate;
    expect(tls.checkServerIdentity("localhost", peer)).toBeUndefined();
    expect(await verdict("localhost", { target: cnOnly })).toBe("ssl_invalid_hostname");
    expect(await verdict("localhost", { target: cnOnly, ca: cnOnlyCert.cert })).toBe("ssl_invalid_hostname");
    expect(await verdict("127.0.0.1", { target: cnOnly, ca: cnOnlyCert.cert })).toBe("ssl_invalid_hostname");
  });

  it("still fails on its dates first", async () => {
    expect(await verdict("localhost", { target: cnOnly, now: 0 })).toBe("ssl_invalid_certificate");
  });

  it("through the helper: tls_handshake says ssl_invalid_hostname", async () => {
    const ep = `127.0.0.1:${cnOnly.port}`;
    const { json } = await postControl(helper.url, { http_request: `https://localhost:${cnOnly.port}/`, http_request_headers: {}, tcp_connect: [ep] });
    expect(json.tls_handshake).toEqual({ [ep]: { server_name: "localhost", status: false, failure: "ssl_invalid_hostname" } });
  });
});

describe("through the helper", () => {
  it("tls_handshake: an untrusted certificate for another name is ssl_invalid_hostname, as oohelperd says", async () => {
    const ep = `127.0.0.1:${https.port}`;
    const { status, json } = await postControl(helper.url, {
      http_request: `https://wrong.test:${https.port}/`,
      http_request_headers: {},
      tcp_connect: [ep],
    });
    expect(status).toBe(200);
    expect(json.tls_handshake).toEqual({ [ep]: { server_name: "wrong.test", status: false, failure: "ssl_invalid_hostname" } });
    expect(json.http_request).toMatchObject({ failure: "unknown_error", status_code: -1, body_length: -1 });
  });

  it("an untrusted certificate for the right name is still refused (ssl_unknown_authority)", async () => {
    const ep = `127.0.0.1:${https.port}`;
    const { json } = await postControl(helper.url, { http_request: `https://localhost:${https.port}/`, http_request_headers: {}, tcp_connect: [ep] });
    expect(json.tls_handshake).toEqual({ [ep]: { server_name: "localhost", status: false, failure: "ssl_unknown_authority" } });
    expect(json.http_request.failure).toBe("unknown_error");
  });

  it("the fetch fails with the hostname error and writes no request on a rejected connection", async () => {
    const before = https.seen.length;
    const ac = new AbortController();
    const fetch = http1Get({ url: new URL(`https://wrong.test:${https.port}/`), headers: {}, addrs: ["127.0.0.1"], trust: {}, signal: ac.signal });
    await expect(fetch).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    const untrusted = http1Get({ url: new URL(`https://localhost:${https.port}/`), headers: {}, addrs: ["127.0.0.1"], trust: {}, signal: ac.signal });
    await expect(untrusted).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(https.seen.length).toBe(before);
    // With the CA the same fetch goes through, so the assertions above are about trust, not reachability.
    const ok = await http1Get({ url: new URL(`https://localhost:${https.port}/`), headers: {}, addrs: ["127.0.0.1"], trust: { ca: cert.cert }, signal: ac.signal });
    expect(ok.status).toBe(200);
    ok.close();
    expect(https.seen.length).toBe(before + 1);
  });
});
