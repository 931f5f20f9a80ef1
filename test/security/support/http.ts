import { connect } from "node:net";
import { readFileSync } from "node:fs";

// HTTP at the level attacks need: a declared Content-Length or a chunked body of any size sent
// without buffering it, and raw bytes on a socket for what an HTTP client refuses to send.

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string | string[]>;
  /** Bytes to send; with `chunked`, sent without Content-Length in pieces of 64 KiB. */
  bodyBytes?: number;
  chunked?: boolean;
  /** The request-target exactly as sent (e.g. "//other.host/x"), instead of `path` resolved on `base`. */
  target?: string;
  /** A literal body (sent with its Content-Length). */
  bodyText?: string;
  /** Declared Content-Length (may differ from what is sent). */
  contentLength?: number;
}

/**
 * Sends the request on a raw socket (so a server that answers and stops reading early, as a body
 * limit should, does not turn into a client-side EPIPE) and parses the answer.
 */
export function rawHttp(base: string, r: RawRequest, timeoutMs = 30_000): Promise<RawReply> {
  const url = new URL(r.path, base);
  const hasHost = Object.keys(r.headers ?? {}).some((k) => k.toLowerCase() === "host");
  const lines = [`${r.method} ${r.target ?? `${url.pathname}${url.search}`} HTTP/1.1`, ...(hasHost ? [] : [`Host: ${url.host}`]), "Connection: close"];
  for (const [k, v] of Object.entries(r.headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  if (r.bodyBytes !== undefined && !r.chunked) lines.push(`Content-Length: ${r.contentLength ?? r.bodyBytes}`);
  if (r.chunked) lines.push("Transfer-Encoding: chunked");
  if (r.bodyText !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(r.bodyText)}`);
  return new Promise((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname);
    const got: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      s.destroy();
      const all = Buffer.concat(got);
      const sep = all.indexOf("\r\n\r\n");
      if (sep < 0) return reject(new Error(`no HTTP answer (${all.length} bytes)`));
      const head = all.subarray(0, sep).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1] ?? 0);
      const headers: Record<string, string | string[] | undefined> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(":");
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        const prev = headers[k];
        headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      let body: Buffer = all.subarray(sep + 4);
      if (String(headers["transfer-encoding"] ?? "").includes("chunked")) body = dechunk(body);
      const text = body.toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      resolve({ status, headers, text, json });
    };
    // Some servers (wrangler dev's proxy) keep the connection open after answering: stop reading
    // once the answer is complete by its own framing.
    const complete = () => {
      const all = Buffer.concat(got);
      const sep = all.indexOf("\r\n\r\n");
      if (sep < 0) return false;
      const head = all.subarray(0, sep).toString("latin1").toLowerCase();
      if (r.method === "HEAD" || /^http\/1\.[01] (1\d\d|204|304)/.test(head)) return true;
      const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
      if (cl) return all.length - sep - 4 >= Number(cl[1]);
      if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) return all.subarray(all.length - 5).toString("latin1") === "0\r\n\r\n";
      return false;
    };
    s.on("data", (c: Buffer) => {
      got.push(c);
      if (complete()) finish();
    });
    s.on("end", finish);
    s.on("close", finish);
    s.on("error", () => undefined); // EPIPE/ECONNRESET after the answer: the answer is what counts
    s.setTimeout(timeoutMs, finish);
    s.write(`${lines.join("\r\n")}\r\n\r\n${r.bodyText ?? ""}`);
    if (r.bodyBytes === undefined) return;
    const piece = Buffer.alloc(16 * 1024, 0x20); // spaces: valid JSON whitespace, so size is the only problem
    // Piece by piece, stopping as soon as the server answers: a server that refuses early closes the
    // connection, and bytes still arriving then would make its kernel reset it (losing the answer).
    void (async () => {
      // A declared length the server can refuse at once: give it the chance before sending any.
      if (!r.chunked) await new Promise((res) => setTimeout(res, 50));
      let left = r.bodyBytes!;
      while (left > 0 && !s.destroyed && got.length === 0) {
        const n = Math.min(left, piece.length);
        left -= n;
        const data = n === piece.length ? piece : piece.subarray(0, n);
        const frame = r.chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from("\r\n")]) : data;
        if (!s.write(frame)) await new Promise((res) => s.once("drain", res));
        await new Promise((res) => setTimeout(res, 1));
      }
      if (r.chunked && left === 0 && !s.destroyed && got.length === 0) s.write("0\r\n\r\n");
    })();
  });
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = b.indexOf("\r\n", i);
    if (nl < 0) break;
    const n = parseInt(b.subarray(i, nl).toString("latin1"), 16);
    if (!n) break;
    out.push(b.subarray(nl + 2, nl + 2 + n));
    i = nl + 2 + n + 2;
  }
  return Buffer.concat(out);
}

/**
 * rawHttp, tried again when the connection was reset before any answer could be read: a server
 * that refuses a body and closes can have its kernel reset the connection while body bytes are still
 * in flight, which discards its answer on the client side (a TCP race, not the server's decision).
 */
export async function rawHttpRetry(base: string, r: RawRequest, tries = 3): Promise<RawReply> {
  for (let i = 1; ; i++) {
    try {
      return await rawHttp(base, r);
    } catch (err) {
      if (i >= tries || !/no HTTP answer/.test((err as Error).message)) throw err;
    }
  }
}

/** Raw bytes on a fresh connection; the server's whole answer as text (until it closes or `ms`). */
export function rawSocket(port: number, bytes: string | Buffer, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const finish = () => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString("latin1"));
    };
    s.on("data", (c) => chunks.push(c));
    s.on("error", finish);
    s.on("close", finish);
    s.setTimeout(ms, finish);
    s.write(bytes);
  });
}

/** Resident memory of a process (Linux), in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}
