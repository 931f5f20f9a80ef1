import { request as httpRequest, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestHelperApp, startTestHelper, type RunningTestHelper } from "../../../origin/src/testhelper";
import { postControl, startHangingServer } from "./fixtures";

const MiB = 1 << 20;

let th: RunningTestHelper;
beforeAll(async () => {
  th = await startTestHelper({ host: "127.0.0.1", port: 0, allowLoopback: true, httpTimeoutMs: 20_000 });
});
afterAll(async () => {
  await th.close();
});

describe("methods and paths", () => {
  it.each(["/", "/api/v1/whatever", "/web-connectivity?x=1"])("GET %s says hello", async (path) => {
    const res = await fetch(`${th.url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ message: "Hello OONItarian!" });
  });

  it.each(["PUT", "DELETE", "PATCH", "OPTIONS"])("%s is a 400 with a JSON error", async (method) => {
    const res = await fetch(`${th.url}/`, { method, body: method === "OPTIONS" ? null : "{}" });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: unknown };
    expect(typeof body.error).toBe("string");
  });

  it("works in-process through the hono app too", async () => {
    const app = createTestHelperApp();
    const res = await app.request("/any", { method: "GET" });
    expect(await res.json()).toEqual({ message: "Hello OONItarian!" });
  });
});

describe("bad requests", () => {
  const good = { http_request: "http://127.0.0.1:1/", http_request_headers: {}, tcp_connect: [] };
  const cases: Array<[string, unknown]> = [
    ["not JSON", "{nope"],
    ["empty body", ""],
    ["JSON null", "null"],
    ["JSON array", "[]"],
    ["missing http_request", { http_request_headers: {}, tcp_connect: [] }],
    ["http_request not a URL", { ...good, http_request: "not a url" }],
    ["http_request not http(s)", { ...good, http_request: "ftp://example.org/" }],
    ["http_request a number", { ...good, http_request: 42 }],
    ["tcp_connect a string", { ...good, tcp_connect: "127.0.0.1:80" }],
    ["tcp_connect with numbers", { ...good, tcp_connect: [80] }],
    ["header values not a list", { ...good, http_request_headers: { Accept: "text/html" } }],
    ["x_quic_enabled a string", { ...good, x_quic_enabled: "yes" }],
  ];
  it.each(cases)("%s → 400 {error}", async (_name, body) => {
    const { status, contentType, json } = await postControl(th.url, body);
    expect(status).toBe(400);
    expect(contentType).toMatch(/^application\/json/);
    expect(json).toEqual({ error: expect.any(String) });
  });

  it("accepts null headers and tcp_connect, as Go probes send for empty ones", async () => {
    const { status, json } = await postControl(th.url, {
      http_request: "http://127.0.0.1:1/",
      http_request_headers: null,
      tcp_connect: null,
      x_quic_enabled: false,
    });
    expect(status).toBe(200);
    expect(json.http_request.failure).toBe("connection_refused_error");
  });
});

/** POST with a body we write chunk by chunk; resolves on the response even if we never finish. */
function streamingPost(url: string, chunks: number, chunkSize: number, headers: Record<string, string> = {}) {
  const u = new URL(url);
  return new Promise<{ status: number; body: string; sentBytes: number }>((resolve, reject) => {
    let sentBytes = 0;
    const req = httpRequest({ hostname: u.hostname, port: u.port, path: "/", method: "POST", headers });
    req.on("error", reject);
    req.flushHeaders(); // the helper must be able to answer before any body byte
    req.on("response", (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8"), sentBytes });
        req.destroy();
      });
    });
    const chunk = Buffer.alloc(chunkSize, 0x20);
    let i = 0;
    const pump = () => {
      while (i < chunks) {
        i++;
        sentBytes += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      // deliberately never req.end(): the 413 must come from counting, not from reading it all
    };
    pump();
  });
}

describe("request size", () => {
  it("413 as soon as a streamed body passes 16 MiB", async () => {
    const res = await streamingPost(th.url, 17, MiB, { "content-type": "application/json" });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ error: expect.any(String) });
  });

  it("413 straight away for a declared Content-Length over 16 MiB", async () => {
    const res = await streamingPost(th.url, 0, 1, { "content-length": String(16 * MiB + 1) });
    expect(res.status).toBe(413);
    expect(res.sentBytes).toBe(0);
  });

  it("exactly 16 MiB is read (and then judged as JSON)", async () => {
    const body = `{"http_request": 1${" ".repeat(16 * MiB - 19)}}`;
    expect(Buffer.byteLength(body)).toBe(16 * MiB);
    const { status, json } = await postControl(th.url, body);
    expect(status).toBe(400);
    expect(json.error).toMatch(/http_request/);
  });
});

describe("in-flight limit", () => {
  it("503 at 25 in flight, 50 for ooniprobe-", async () => {
    const hanging = await startHangingServer();
    const controller = new AbortController();
    const hold = (ua: string) =>
      fetch(`${th.url}/`, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": ua },
        body: JSON.stringify({ http_request: `http://127.0.0.1:${hanging.port}/`, http_request_headers: {}, tcp_connect: [] }),
        signal: controller.signal,
      }).catch(() => undefined);
    const waitForConnections = async (n: number) => {
      const deadline = Date.now() + 10_000;
      while (hanging.connections() < n) {
        if (Date.now() > deadline) throw new Error(`only ${hanging.connections()} of ${n} requests in flight`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const held: Promise<unknown>[] = [];
    try {
      for (let i = 0; i < 25; i++) held.push(hold("curl/8"));
      await waitForConnections(25);

      const refused = await fetch(`${th.url}/`, { method: "POST", headers: { "user-agent": "curl/8" }, body: "{}" });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await refused.json()).toEqual({ error: expect.any(String) });
      const hello = await fetch(`${th.url}/`, { headers: { "user-agent": "curl/8" } });
      expect(hello.status).toBe(503);

      // real probes still get in, up to 50
      for (let i = 0; i < 25; i++) held.push(hold("ooniprobe-android/3.8.0"));
      await waitForConnections(50);
      const probeRefused = await fetch(`${th.url}/`, {
        method: "POST",
        headers: { "user-agent": "ooniprobe-cli/3.20.0" },
        body: "{}",
      });
      expect(probeRefused.status).toBe(503);
    } finally {
      controller.abort();
      await Promise.all(held);
      await hanging.close();
    }
    // once the held requests are gone (the helper sees the clients leave), service resumes
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await fetch(`${th.url}/`)).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });
});
