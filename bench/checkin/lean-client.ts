import { connect, type Socket } from "node:net";

// A load client that costs the bench process as little as possible per request, so that on a
// 2-core machine the origin — not the client — is what runs out. undici's fetch spent ~0.5 ms of
// client CPU per 10.5 KB check-in answer (web streams, Headers, Response objects): more than the
// origin spent answering it, so the earlier figures partly measured the client. Here each
// connection is a raw keep-alive socket; requests are pre-encoded bytes, written whole, one at a
// time per connection (no pipelining, as real clients); an answer is parsed only as far as the
// status line and Content-Length (the origin always sends one for these routes).

export interface LeanResult {
  ok: number;
  failed: Record<string, number>;
  latenciesMs: number[];
  bytes: number;
  seconds: number;
}

const HEADER_END = Buffer.from("\r\n\r\n");

/** The request as bytes; `body` given = a POST with a JSON body and Content-Length. */
export function encodeRequest(host: string, path: string, userAgent: string, body?: string): Buffer {
  const head = body === undefined
    ? `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nuser-agent: ${userAgent}\r\naccept: */*\r\n\r\n`
    : `POST ${path} HTTP/1.1\r\nhost: ${host}\r\nuser-agent: ${userAgent}\r\naccept: */*\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return Buffer.from(head);
}

/** The status and Content-Length of an answer's head (lower-cased search; the origin sends one). */
function parseHead(head: string): { status: number; length: number } | null {
  const status = Number(head.slice(9, 12));
  const lower = head.toLowerCase();
  const at = lower.indexOf("\r\ncontent-length:");
  if (!(status >= 100) || at < 0) return null;
  return { status, length: Number.parseInt(lower.slice(at + 17, lower.indexOf("\r\n", at + 17)).trim(), 10) };
}

/**
 * `concurrency` connections each send requests back to back for `seconds`; `requests` is cycled
 * through. Resolves with the counts and the latency of every 200.
 */
export async function leanLoad(
  port: number,
  requests: readonly Buffer[],
  concurrency: number,
  seconds: number,
): Promise<LeanResult> {
  const r: LeanResult = { ok: 0, failed: {}, latenciesMs: [], bytes: 0, seconds: 0 };
  const fail = (why: string) => (r.failed[why] = (r.failed[why] ?? 0) + 1);
  let issued = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;

  const connection = () =>
    new Promise<void>((done) => {
      let socket: Socket;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let expect: { status: number; total: number; body: number } | null = null;
      let start = 0;
      const send = () => {
        if (performance.now() >= deadline) return socket.end(done);
        start = performance.now();
        socket.write(requests[issued++ % requests.length]!);
      };
      const open = () => {
        pending = [];
        pendingBytes = 0;
        expect = null;
        socket = connect({ port, host: "127.0.0.1", noDelay: true });
        socket.on("connect", send);
        socket.on("data", onData);
        socket.on("error", (err: NodeJS.ErrnoException) => fail(err.code ?? err.name));
        // A closed connection (the server's choice, or an error) is reopened while there is time.
        socket.on("close", () => (performance.now() < deadline ? open() : done()));
      };
      function onData(chunk: Buffer) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        for (;;) {
          if (expect === null) {
            const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
            const end = all.indexOf(HEADER_END);
            if (end < 0) return;
            const head = parseHead(all.toString("latin1", 0, end));
            if (head === null) {
              fail("unparsable answer");
              return socket.destroy();
            }
            expect = { status: head.status, total: end + 4 + head.length, body: head.length };
            pending = [all];
          }
          if (pendingBytes < expect.total) return;
          const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          if (expect.status === 200) {
            r.ok++;
            r.bytes += expect.body;
            r.latenciesMs.push(performance.now() - start);
          } else fail(`HTTP ${expect.status}`);
          const rest = all.subarray(expect.total);
          pending = rest.length ? [rest] : [];
          pendingBytes = rest.length;
          expect = null;
          send();
          if (pendingBytes === 0) return;
        }
      }
      open();
    });

  await Promise.all(Array.from({ length: concurrency }, connection));
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}
