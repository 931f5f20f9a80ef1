import net from "node:net";
import { listen, type LegacyServer, trackSockets } from "./listen";
import { describeHead, headEnd, parseRequestHead } from "./request-head";

// The `http-return-json-headers` helper of http_header_field_manipulation (ooni/spec ts-006). The
// probe sends "GeT / HTTP/1.1" with six headers in random capitalisation and compares them with
// what we saw: answer 200 with a JSON object holding the request line and the headers exactly as
// received. Only the head is read; the connection closes after the answer.

export interface JsonHeadersOptions {
  host?: string;
  port: number;
  /** The whole head must arrive within this (the probe sends it in one write). */
  headTimeoutMs?: number;
  /** Larger heads are refused with 431 (the probe sends ~400 bytes). */
  maxHeadBytes?: number;
  maxConnections?: number;
}

function answer(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export async function startJsonHeaders(opts: JsonHeadersOptions): Promise<LegacyServer> {
  const timeout = opts.headTimeoutMs ?? 10_000;
  const maxHead = opts.maxHeadBytes ?? 16 * 1024;
  const server = net.createServer({ noDelay: true }, (socket) => {
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    socket.setTimeout(timeout, () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      if (done) return; // a body, or a pipelined request: not ours to read
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = headEnd(buf);
      if (end === -1 && buf.length <= maxHead) return;
      done = true;
      if (end === -1 || end > maxHead) {
        socket.end(answer("431 Request Header Fields Too Large", JSON.stringify({ error: "request head too large" })));
        return;
      }
      // latin1 keeps every byte as one character: nothing the client sent is altered or lost.
      const head = parseRequestHead(buf.subarray(0, end).toString("latin1"));
      socket.end(answer("200 OK", JSON.stringify(describeHead(head))));
    });
    socket.on("end", () => {
      if (!done) socket.end();
    });
    socket.on("error", () => socket.destroy());
  });
  server.maxConnections = opts.maxConnections ?? 2_000;
  trackSockets(server);
  return listen(server, opts.host ?? "127.0.0.1", opts.port, "http");
}
