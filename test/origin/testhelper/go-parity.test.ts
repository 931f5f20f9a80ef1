import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHelper, type RunningTestHelper } from "../../../origin/src/testhelper";
import { MAX_PROBE_ADDRESSES } from "../../../origin/src/testhelper/ipinfo";
import { postControl } from "./fixtures";

// The differences from oohelperd that changed the probe's verdict (issue 17), each against a raw
// loopback server that answers byte for byte what the test says. Expected values are what Go's
// net/http client reads from the same bytes (response.go, transfer.go, textproto), as oohelperd
// reports them.

const BODY = "<html><head><title> Spaced title </title></head><body>ok</body></html>";

const RESPONSES: Record<string, string> = {
  "/bare-lf": `HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: ${BODY.length}\n\n${BODY}`,
  "/space-in-name": `HTTP/1.1 200 OK\r\nBad Header: yes\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
  "/invalid-name": `HTTP/1.1 200 OK\r\nX@Y: no\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
  "/te-and-cl": `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1000\r\n\r\n${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
  "/short-body": `HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length + 100}\r\n\r\n${BODY}`,
  "/until-close": `HTTP/1.0 200 OK\r\nServer: old\r\n\r\n${BODY}`,
  "/folded": `HTTP/1.1 200 OK\r\nX-Folded: one\r\n  two\r\nContent-Length: 2\r\n\r\nhi`,
  "/continue": `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi`,
  "/bad-status": `HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nhi`,
  "/two-lengths": `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi`,
  "/gzip-te": `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhi`,
  "/keep-alive": `HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi`,
  "/conn-close": `HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi`,
  "/conn-close-listed": `HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: Upgrade ,\tCLOSE\r\nContent-Length: 2\r\n\r\nhi`,
  "/conn-closed-not-close": `HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 2\r\n\r\nhi`,
  "/conn-close-http10": `HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi`,
  "/pragma": `HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nhi`,
  "/te-two-lengths": `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n2\r\nhi\r\n0\r\n\r\n`,
  "/same-lengths": `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi`,
  "/empty-length": `HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nhello`,
  "/chunked-cut": `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${(BODY.length + 100).toString(16)}\r\n${BODY}`,
  "/reset-mid-body": `HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length + 100}\r\n\r\n${BODY}`,
  "/blockpage-headers": `HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n`,
};

let server: net.Server;
let port = 0;
/** Raw request heads as received, by path. */
const received = new Map<string, string>();
let helper: RunningTestHelper;

beforeAll(async () => {
  server = net.createServer((sock) => {
    let buf = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      buf += d;
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.slice(0, end + 4);
      const path = head.split(" ")[1] ?? "/";
      received.set(path, head);
      const hops = /^\/redirect\/(\d+)$/.exec(path);
      const answer = hops
        ? Number(hops[1]) > 0
          ? `HTTP/1.1 302 Found\r\nLocation: /redirect/${Number(hops[1]) - 1}\r\nContent-Length: 0\r\n\r\n`
          : `HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`
        : (RESPONSES[path] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      sock.write(Buffer.from(answer, "latin1"));
      // A reset (RST), not a clean close: Go sees connection_reset, which is a failure.
      if (path === "/reset-mid-body") {
        setTimeout(() => sock.resetAndDestroy(), 50);
        return;
      }
      // Close after writing: bodies framed by Content-Length or chunks are complete already, the
      // short body is cut short, and until-close needs the close.
      sock.end();
    });
    sock.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
  helper = await startTestHelper({ port: 0, allowLoopback: true });
});

afterAll(async () => {
  await helper.close();
  await new Promise((r) => server.close(r));
});

async function control(path: string) {
  const { status, json } = await postControl(helper.url, {
    http_request: `http://127.0.0.1:${port}${path}`,
    http_request_headers: { "User-Agent": ["Mozilla/5.0 parity"], Accept: ["*/*"] },
    tcp_connect: [],
  });
  expect(status).toBe(200);
  return json.http_request as { body_length: number; failure: string | null; title: string; headers: Record<string, string>; status_code: number };
}

describe("HTTP parsing as lenient as Go's client", () => {
  it("bare-LF line endings", async () => {
    const r = await control("/bare-lf");
    expect(r).toMatchObject({ status_code: 200, failure: null, body_length: BODY.length });
    expect(r.headers["Content-Type"]).toBe("text/html");
  });

  it("a header name with a space is kept as it is (not canonicalised)", async () => {
    const r = await control("/space-in-name");
    expect(r).toMatchObject({ status_code: 200, failure: null, body_length: BODY.length });
    expect(r.headers["Bad Header"]).toBe("yes");
  });

  it("a header name with other invalid bytes fails, as in Go", async () => {
    expect(await control("/invalid-name")).toMatchObject({ status_code: -1, body_length: -1, failure: "unknown_error", headers: {} });
  });

  it("Transfer-Encoding and Content-Length: chunked wins, and neither is reported", async () => {
    const r = await control("/te-and-cl");
    expect(r).toMatchObject({ status_code: 200, failure: null, body_length: BODY.length });
    expect(r.headers["Transfer-Encoding"]).toBeUndefined();
    expect(r.headers["Content-Length"]).toBeUndefined();
  });

  it("a body shorter than its Content-Length: status, headers, what was read, and no failure (oohelperd)", async () => {
    const r = await control("/short-body");
    expect(r).toMatchObject({ status_code: 200, failure: null, body_length: BODY.length, title: " Spaced title " });
    expect(r.headers["Content-Length"]).toBe(String(BODY.length + 100));
  });

  it("a chunked body cut by a clean close: what was read, and no failure (oohelperd)", async () => {
    expect(await control("/chunked-cut")).toMatchObject({ status_code: 200, failure: null, body_length: BODY.length, title: " Spaced title " });
  });

  it("a body cut by a reset is still a failure (Go sees connection_reset, not EOF)", async () => {
    expect((await control("/reset-mid-body")).failure).toBe("unknown_error");
  });

  it("a body read until the server closes (HTTP/1.0, no length)", async () => {
    expect(await control("/until-close")).toMatchObject({ status_code: 200, failure: null, body_length: BODY.length, headers: { Server: "old" } });
  });

  it("obsolete line folding joins the lines", async () => {
    expect((await control("/folded")).headers["X-Folded"]).toBe("one two");
  });

  it("a 100 Continue before the answer is skipped", async () => {
    expect(await control("/continue")).toMatchObject({ status_code: 200, failure: null, body_length: 2 });
  });

  it.each(["/bad-status", "/two-lengths", "/gzip-te"])("%s is refused, as Go refuses it", async (path) => {
    expect(await control(path)).toMatchObject({ status_code: -1, body_length: -1, failure: "unknown_error" });
  });

  it("reports Connection only when the server sent it, and never Transfer-Encoding", async () => {
    expect((await control("/keep-alive")).headers).toEqual({ Connection: "keep-alive", "Content-Length": "2" });
    // A chunked blockpage: nothing a header-matching rule could latch onto that Go would not show.
    expect((await control("/blockpage-headers")).headers).toEqual({});
  });

  it("Connection with a `close` token is dropped from HTTP/1.1 answers, as Go's shouldClose does", async () => {
    expect((await control("/conn-close")).headers).toEqual({ "Content-Length": "2" });
    // Every Connection field goes once any of them lists close (token match: OWS and case ignored).
    expect((await control("/conn-close-listed")).headers).toEqual({ "Content-Length": "2" });
    // Not the close token: kept.
    expect((await control("/conn-closed-not-close")).headers).toEqual({ Connection: "closed", "Content-Length": "2" });
    // HTTP/1.0: Go decides from the header but leaves it in place.
    expect((await control("/conn-close-http10")).headers).toEqual({ Connection: "close", "Content-Length": "2" });
  });

  it("Content-Length edge cases as Go's fixLength", async () => {
    // Chunked first: two different lengths do not matter once Transfer-Encoding says chunked.
    expect(await control("/te-two-lengths")).toMatchObject({ status_code: 200, failure: null, body_length: 2 });
    expect(await control("/same-lengths")).toMatchObject({ status_code: 200, failure: null, body_length: 2, headers: { "Content-Length": "2" } });
    const empty = await control("/empty-length");
    expect(empty).toMatchObject({ status_code: 200, failure: null, body_length: 5 });
    expect(empty.headers["Content-Length"]).toBeUndefined();
  });

  it("Pragma: no-cache alone also reports Cache-Control: no-cache, as Go adds it", async () => {
    expect((await control("/pragma")).headers).toEqual({ "Cache-Control": "no-cache", "Content-Length": "2", Pragma: "no-cache" });
  });

  it("the title is returned untrimmed, exactly as the probe extracts it", async () => {
    expect((await control("/bare-lf")).title).toBe(" Spaced title ");
  });
});

describe("the request we send is Go's", () => {
  it("Host, User-Agent, then the rest sorted; no Connection, no Accept-Encoding", async () => {
    await control("/keep-alive");
    const head = received.get("/keep-alive")!;
    expect(head).toBe(`GET /keep-alive HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: Mozilla/5.0 parity\r\nAccept: */*\r\n\r\n`);
  });

  it("without a User-Agent from the probe, Go's default one", async () => {
    await postControl(helper.url, { http_request: `http://127.0.0.1:${port}/folded`, http_request_headers: {}, tcp_connect: [] });
    expect(received.get("/folded")).toContain("\r\nUser-Agent: Go-http-client/1.1\r\n");
  });
});

describe("request limits like oohelperd's", () => {
  it("takes a 9,000-character URL (we refused 8,192)", async () => {
    const path = `/long?${"q".repeat(9000 - `http://127.0.0.1:${port}/long?`.length)}`;
    const url = `http://127.0.0.1:${port}${path}`;
    expect(url).toHaveLength(9000);
    const { status, json } = await postControl(helper.url, { http_request: url, http_request_headers: {}, tcp_connect: [] });
    expect(status).toBe(200);
    expect(json.http_request.status_code).toBe(404); // the target's answer: the URL was fetched
  });

  it(`dials at most ${MAX_PROBE_ADDRESSES} of the probe's addresses`, async () => {
    const eps = Array.from({ length: 200 }, (_, i) => `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}:${port}`);
    const { status, json } = await postControl(helper.url, { http_request: `http://127.0.0.1:${port}/keep-alive`, http_request_headers: {}, tcp_connect: eps });
    expect(status).toBe(200);
    expect(Object.keys(json.ip_info)).toHaveLength(MAX_PROBE_ADDRESSES);
    expect(Object.keys(json.tcp_connect)).toHaveLength(MAX_PROBE_ADDRESSES); // one port: the URL's
    // The first ones the probe listed are the ones measured.
    expect(json.ip_info["127.0.0.1"]).toBeDefined();
    expect(json.ip_info[`127.0.0.${MAX_PROBE_ADDRESSES + 1}`]).toBeUndefined();
  });

  it("closes a connection whose request headers do not arrive within oohelperd's 8 s", async () => {
    const sock = net.connect({ host: "127.0.0.1", port: helper.port });
    await new Promise((r) => sock.once("connect", r));
    sock.write("POST / HTTP/1.1\r\nHost: x\r\n"); // and never the rest
    const t0 = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      const giveUp = setTimeout(() => resolve(false), 20_000);
      sock.on("data", () => undefined);
      sock.once("close", () => {
        clearTimeout(giveUp);
        resolve(true);
      });
    });
    sock.destroy();
    expect(closed).toBe(true);
    // Not at once: the server did wait for the headers (the old default held them for ~33 s).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(5_000);
  }, 30_000);
});

describe("redirects as Go's default CheckRedirect (at most 10 requests)", () => {
  const requests = (from: number) => [...received.keys()].filter((p) => /^\/redirect\/\d+$/.test(p) && Number(p.split("/")[2]) <= from).length;

  it("9 redirects (10 requests) are followed to the final page", async () => {
    received.clear();
    expect(await control("/redirect/9")).toMatchObject({ status_code: 200, failure: null, body_length: BODY.length });
    expect(requests(9)).toBe(10);
  });

  it("10 redirects fail the chain before the 11th request, as oohelperd reports it", async () => {
    received.clear();
    expect(await control("/redirect/10")).toEqual({
      body_length: -1,
      discovered_h3_endpoint: "",
      failure: "unknown_error",
      title: "",
      headers: {},
      status_code: -1,
    });
    expect(requests(10)).toBe(10);
    expect(received.has("/redirect/0")).toBe(false);
  });
});
