import { spawn } from "node:child_process";
import net from "node:net";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startJsonHeaders, startTcpEcho, type LegacyServer } from "../../../origin/src/legacy-helpers";
import { describeHead, headEnd, parseRequestHead } from "../../../origin/src/legacy-helpers/request-head";
import { repoRoot } from "../../support/origin-process";

// What the probe does (probe-cli internal/experiment/hhfm and hirl), byte for byte, over loopback.

/** Connects, writes, and collects everything until the server closes or `quietMs` pass without a byte. */
function exchange(port: number, payload: string, quietMs = 400): Promise<{ data: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let data = "";
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        sock.destroy();
        resolve({ data, closedByServer: false });
      }, quietMs);
    };
    sock.setEncoding("latin1");
    sock.on("connect", () => {
      sock.write(Buffer.from(payload, "latin1"));
      arm();
    });
    sock.on("data", (d: string) => {
      data += d;
      arm();
    });
    sock.on("end", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ data, closedByServer: true });
    });
    sock.on("error", reject);
  });
}

function splitResponse(raw: string) {
  const i = raw.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = raw.slice(0, i).split("\r\n");
  return { statusLine, headerLines, body: raw.slice(i + 4) };
}

describe("http-return-json-headers (http_header_field_manipulation)", () => {
  let helper: LegacyServer;
  beforeAll(async () => {
    helper = await startJsonHeaders({ port: 0 });
  });
  afterAll(() => helper.close());

  it("reports the request line and the six headers in the probe's own capitalisation", async () => {
    // hhfm: method "GeT", header names with random case, Go writes Host first, CRLF endings.
    const sent = [
      "GeT / HTTP/1.1",
      "hOSt: qwertyuiopasdfg.com",
      "uSer-AgeNt: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
      "ACCept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      "accePT-CharseT: ISO-8859-1,utf-8;q=0.7,*;q=0.3",
      "Accept-ENCODING: gzip,deflate,sdch",
      "aCCEPT-language: en-US;q=0.8,en;q=0.5",
    ];
    const { data, closedByServer } = await exchange(helper.port, `${sent.join("\r\n")}\r\n\r\n`);
    expect(closedByServer).toBe(true);
    const res = splitResponse(data);
    expect(res.statusLine).toBe("HTTP/1.1 200 OK");
    expect(res.headerLines).toContain(`Content-Length: ${Buffer.byteLength(res.body)}`);
    const body = JSON.parse(res.body);
    expect(body.request_line).toBe("GeT / HTTP/1.1");
    expect(body.headers_dict).toEqual({
      hOSt: ["qwertyuiopasdfg.com"],
      "uSer-AgeNt": ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"],
      ACCept: ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
      "accePT-CharseT": ["ISO-8859-1,utf-8;q=0.7,*;q=0.3"],
      "Accept-ENCODING": ["gzip,deflate,sdch"],
      "aCCEPT-language": ["en-US;q=0.8,en;q=0.5"],
    });
    expect(body.request_headers).toHaveLength(6);
    expect(body.request_headers[0]).toEqual(["hOSt", "qwertyuiopasdfg.com"]);
  });

  it("keeps duplicates, accepts bare LF and skips a line without a colon", async () => {
    const { data } = await exchange(helper.port, "GET /x HTTP/1.0\nX-A: 1\nnot a header\nX-A:2\n\n");
    const body = JSON.parse(splitResponse(data).body);
    expect(body.request_line).toBe("GET /x HTTP/1.0");
    expect(body.headers_dict).toEqual({ "X-A": ["1", "2"] });
  });

  it("waits for a head sent in pieces", async () => {
    const sock = net.connect({ host: "127.0.0.1", port: helper.port });
    await new Promise((r) => sock.once("connect", r));
    sock.write("GeT / HTT");
    await new Promise((r) => setTimeout(r, 100));
    sock.write("P/1.1\r\nHost: a.com\r\n\r\n");
    const chunks: Buffer[] = [];
    sock.on("data", (d) => chunks.push(d));
    await new Promise((r) => sock.once("end", r));
    sock.destroy();
    expect(JSON.parse(splitResponse(Buffer.concat(chunks).toString("latin1")).body).headers_dict).toEqual({ Host: ["a.com"] });
  });

  it("refuses an endless head with 431 instead of buffering it", async () => {
    const { data, closedByServer } = await exchange(helper.port, `GET / HTTP/1.1\r\nX: ${"a".repeat(20_000)}`);
    expect(closedByServer).toBe(true);
    expect(splitResponse(data).statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    expect(JSON.parse(splitResponse(data).body)).toEqual({ error: "request head too large" });
  });

  it("closes a connection that sends nothing", async () => {
    const quick = await startJsonHeaders({ port: 0, headTimeoutMs: 200 });
    try {
      const { closedByServer } = await exchange(quick.port, "", 2_000);
      expect(closedByServer).toBe(true);
    } finally {
      await quick.close();
    }
  });

  it("parses heads as the unit functions say", () => {
    expect(headEnd(Buffer.from("GET / HTTP/1.1\r\nA: b\r\n"))).toBe(-1);
    expect(headEnd(Buffer.from("GET / HTTP/1.1\r\nA: b\r\n\r\nbody"))).toBe(24);
    expect(headEnd(Buffer.from("GET / HTTP/1.1\n\nbody"))).toBe(16);
    expect(describeHead(parseRequestHead("GET / HTTP/1.1\r\n__proto__: x\r\n\r\n")).headers_dict).toEqual(
      JSON.parse('{"__proto__":["x"]}'),
    );
  });
});

describe("tcp-echo (http_invalid_request_line)", () => {
  let helper: LegacyServer;
  beforeAll(async () => {
    helper = await startTcpEcho({ port: 0 });
  });
  afterAll(() => helper.close());

  // hirl's five request lines (random letters fixed here), sent as one write each.
  it.each([
    ["random_invalid_method", "QWER / HTTP/1.1\n\r"],
    ["random_invalid_field_count", "ABCDE FGHIJ KLMNO PQRST\r\n"],
    ["random_big_request_method", `${"X".repeat(1024)} / HTTP/1.1\r\n`],
    ["random_invalid_version_number", "GET / HTTP/ZZZ\r\n"],
    ["squid_cache_manager", "GET cache_object://localhost/ HTTP/1.0\n\r"],
  ])("%s comes back byte for byte and the connection stays open", async (_name, line) => {
    const { data, closedByServer } = await exchange(helper.port, line);
    expect(data).toBe(line);
    // The probe ends the exchange with its own 5 s read deadline; a close from us is not expected.
    expect(closedByServer).toBe(false);
  });

  it("closes connections that go quiet, and stops echoing past its byte cap", async () => {
    const small = await startTcpEcho({ port: 0, idleTimeoutMs: 200, maxBytes: 10 });
    try {
      expect((await exchange(small.port, "hello", 2_000)).closedByServer).toBe(true);
      const big = await exchange(small.port, "x".repeat(100), 2_000);
      expect(big.closedByServer).toBe(true);
      expect(big.data).toBe("");
    } finally {
      await small.close();
    }
  });
});

describe("npm run cli -- legacy-helpers serve (what the systemd unit runs)", () => {
  const cli = (...args: string[]) =>
    spawn(process.execPath, ["--import", "tsx", "origin/src/cli.ts", "legacy-helpers", ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });

  it("serves both helpers, says where, and stops on SIGTERM", async () => {
    const child = cli("serve", "--tcp-echo", "127.0.0.1:0", "--json-headers", "127.0.0.1:0");
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`exited ${code}`)));
    });
    const { tcp_echo, json_headers } = JSON.parse(line) as { tcp_echo: string; json_headers: string };
    expect((await exchange(Number(new URL(tcp_echo).port), "ABCD / HTTP/1.1\n\r")).data).toBe("ABCD / HTTP/1.1\n\r");
    const res = await fetch(json_headers);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { request_line: string }).request_line).toBe("GET / HTTP/1.1");
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("refuses a malformed address with a message", async () => {
    const child = cli("serve", "--tcp-echo", "nowhere");
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain("--tcp-echo: HOST:PORT");
  });
});
