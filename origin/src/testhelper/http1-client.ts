import net from "node:net";
import tls from "node:tls";
import { ipFamily } from "./bogon";
import { verifyLikeGo } from "./cert-verify";
import { canonicalHeaderKey } from "./headers";
import { ProtocolError, SocketReader } from "./http1-reader";
import type { TlsTrust } from "./options";
import { bareHost } from "./resolver";

// One HTTP/1.1 GET the way Go's net/http client (oohelperd's, and the probe's) does it, on a fresh
// connection to addresses we already resolved and vetted. Node's own client (llhttp) is stricter
// than Go's: it refuses bare-LF line endings, header names with a space, Transfer-Encoding together
// with Content-Length; it also sends `Connection: close`. Each of those turned an answer the probe
// could read into "unknown_error" in our control, which the probe takes for interference. So the
// request is written and the response head and framing parsed here, rule by rule as Go's
// net/http (transfer.go, response.go) and net/textproto do.

/** Go's Transport limit is 10 MiB; 1 MiB bounds our memory per request and fits real sites. */
const MAX_HEAD_BYTES = 1 << 20;
/** Go's chunked reader refuses longer chunk-size lines. */
const MAX_CHUNK_LINE = 4096;
/** Go's Transport gives up after this many 1xx answers before the real one. */
const MAX_INFORMATIONAL = 5;
const TOKEN_BYTE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

export interface Http1Response {
  status: number;
  /** The header as Go's Response.Header holds it: names canonical (as Go makes them), in arrival order. */
  headers: [string, string][];
  /** Reads the body up to `max` bytes. Partial data comes with the error that stopped it, as io.ReadAll. */
  readBody(max: number): Promise<{ data: Buffer; error: unknown }>;
  close(): void;
}

export interface Http1Request {
  url: URL;
  /** Headers to send besides Host and User-Agent (those two are handled as Go does). */
  headers: Record<string, readonly string[]>;
  addrs: readonly string[];
  trust: TlsTrust;
  signal: AbortSignal;
}

/** Go's Request.Write: Host, then User-Agent (first value, or Go's default), then the rest sorted by name. */
export function requestHead(url: URL, headers: Record<string, readonly string[]>): string {
  const target = `${url.pathname || "/"}${url.search}`;
  let head = `GET ${target} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  const ua = Object.entries(headers).find(([k]) => k.toLowerCase() === "user-agent")?.[1][0];
  const userAgent = ua ?? "Go-http-client/1.1";
  if (userAgent !== "") head += `User-Agent: ${userAgent}\r\n`;
  const rest = Object.entries(headers)
    .filter(([k]) => !["host", "user-agent", "content-length", "transfer-encoding", "trailer"].includes(k.toLowerCase()))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, values] of rest) {
    // Go's Header.Write drops CR/LF inside values (replaces them with spaces).
    for (const v of values) head += `${name}: ${v.replace(/[\r\n]+/g, " ").trim()}\r\n`;
  }
  return `${head}\r\n`;
}

function connectOnce(url: URL, address: string, trust: TlsTrust, signal: AbortSignal): Promise<net.Socket> {
  const host = bareHost(url.hostname);
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return new Promise((resolve, reject) => {
    const socket =
      url.protocol === "https:"
        ? tls.connect({
            host: address,
            port,
            // Checked on secureConnect, in Go's order (cert-verify.ts), before anything is written.
            rejectUnauthorized: false,
            ALPNProtocols: ["http/1.1"],
            ...(ipFamily(host) === 0 ? { servername: host } : {}),
            ...(trust.ca !== undefined ? { ca: trust.ca } : {}),
            // Certificate checks are for the URL's host, not the address we dialled.
            checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert),
          })
        : net.connect({ host: address, port });
    socket.setNoDelay(true);
    const onAbort = () => socket.destroy(signal.reason as Error);
    const done = (err?: Error) => {
      signal.removeEventListener("abort", onAbort);
      socket.off("error", done);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    };
    if (signal.aborted) return done(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", done);
    if (socket instanceof tls.TLSSocket) socket.once("secureConnect", () => done(verifyLikeGo(socket, host) ?? undefined));
    else socket.once("connect", () => done());
  });
}

/** Go's dialer tries the addresses one after the other and reports the first error. */
async function connect(url: URL, addrs: readonly string[], trust: TlsTrust, signal: AbortSignal): Promise<net.Socket> {
  let first: unknown;
  for (const address of addrs) {
    try {
      return await connectOnce(url, address, trust, signal);
    } catch (err) {
      first ??= err;
      if (signal.aborted) break;
    }
  }
  throw first ?? new ProtocolError("no address to connect to");
}

/** http.ParseHTTPVersion. */
function parseVersion(proto: string): [number, number] | null {
  if (proto === "HTTP/1.1") return [1, 1];
  if (proto === "HTTP/1.0") return [1, 0];
  const m = /^HTTP\/(\d)\.(\d)$/.exec(proto);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

interface Head {
  status: number;
  version: [number, number];
  fields: [string, string][];
}

/** textproto.ReadMIMEHeader, as Go ≥ 1.20 reads a response's header. */
async function readFields(reader: SocketReader, budget: { left: number }): Promise<[string, string][]> {
  const fields: [string, string][] = [];
  const first = await reader.peek();
  if (first === 0x20 || first === 0x09) throw new ProtocolError("malformed MIME header initial line");
  for (;;) {
    let line = await reader.line(budget.left);
    if (line === null) throw new ProtocolError("unexpected EOF");
    budget.left -= line.length + 2;
    if (line === "") return fields;
    // Obsolete line folding: continuation lines join the previous one with a space.
    for (let next = await reader.peek(); next === 0x20 || next === 0x09; next = await reader.peek()) {
      const more = await reader.line(budget.left);
      if (more === null) throw new ProtocolError("unexpected EOF");
      budget.left -= more.length + 2;
      line = `${line.replace(/[ \t]+$/, "")} ${more.replace(/^[ \t]+/, "")}`;
    }
    if (budget.left < 0) throw new ProtocolError("response header too large");
    const colon = line.indexOf(":");
    if (colon < 0) throw new ProtocolError(`malformed MIME header line: ${line}`);
    const rawKey = line.slice(0, colon);
    // A space in the name is tolerated (kept as is, not canonicalised); other non-token bytes are not.
    for (const ch of rawKey) if (ch !== " " && !TOKEN_BYTE.test(ch)) throw new ProtocolError(`malformed MIME header line: ${line}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+/, "").replace(/[ \t]+$/, "");
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new ProtocolError(`malformed MIME header line: ${line}`);
    if (rawKey === "") continue; // Go skips an empty name rather than failing
    fields.push([rawKey.includes(" ") ? rawKey : canonicalHeaderKey(rawKey), value]);
  }
}

async function readHead(reader: SocketReader): Promise<Head> {
  const budget = { left: MAX_HEAD_BYTES };
  for (let informational = 0; ; informational++) {
    const statusLine = await reader.line(budget.left);
    if (statusLine === null) throw Object.assign(new Error("EOF"), { code: "ECONNRESET" });
    budget.left -= statusLine.length + 2;
    const sp = statusLine.indexOf(" ");
    if (sp < 0) throw new ProtocolError("malformed HTTP response");
    const proto = statusLine.slice(0, sp);
    const code = statusLine.slice(sp + 1).replace(/^ +/, "").split(" ", 1)[0] ?? "";
    if (!/^\d{3}$/.test(code)) throw new ProtocolError("malformed HTTP status code");
    const version = parseVersion(proto);
    if (!version) throw new ProtocolError("malformed HTTP version");
    const fields = await readFields(reader, budget);
    const status = Number(code);
    // 1xx answers (but 101) come before the real one: Go reads on, up to five of them.
    if (status >= 100 && status < 200 && status !== 101) {
      if (informational + 1 >= MAX_INFORMATIONAL) throw new ProtocolError("too many 1xx informational responses");
      continue;
    }
    return { status, version, fields };
  }
}

/** httpguts.HeaderValuesContainsToken: comma-separated tokens, trimmed of SP/HT, ASCII case-insensitive. */
function containsToken(values: readonly string[], token: string): boolean {
  return values.some((v) => v.split(",").some((t) => t.replace(/^[ \t]+|[ \t]+$/g, "").toLowerCase() === token));
}

/**
 * transfer.go shouldClose, the first step of readTransfer: from HTTP/1.1 on, a Connection field
 * with a `close` token is acted on and removed — every Connection field, whatever else it lists —
 * so Go's Response.Header (and oohelperd's http_request.headers) never shows it. HTTP/1.0 and
 * other Connection values (keep-alive, …) stay in the header.
 */
function withoutConnectionClose(head: Head): [string, string][] {
  const [major, minor] = head.version;
  if (major < 1 || (major === 1 && minor === 0)) return head.fields;
  const values = head.fields.filter(([k]) => k === "Connection").map(([, v]) => v);
  return containsToken(values, "close") ? head.fields.filter(([k]) => k !== "Connection") : head.fields;
}

type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

/**
 * transfer.go readTransfer for a response to GET: parseTransferEncoding, fixPragmaCacheControl,
 * then fixLength — and the header edits each makes, since oohelperd reports the edited header.
 */
function framing(head: Head): { framing: Framing; fields: [string, string][] } {
  let fields = withoutConnectionClose(head);
  const te = fields.filter(([k]) => k === "Transfer-Encoding").map(([, v]) => v);
  let chunked = false;
  if (te.length > 0) {
    // Go takes Transfer-Encoding out of the header in every case; it applies only from HTTP/1.1 on.
    fields = fields.filter(([k]) => k !== "Transfer-Encoding");
    const [major, minor] = head.version;
    if (major > 1 || (major === 1 && minor >= 1)) {
      if (te.length !== 1) throw new ProtocolError(`too many transfer encodings: ${te.join(",")}`);
      if (te[0]!.toLowerCase() !== "chunked") throw new ProtocolError(`unsupported transfer encoding: ${te[0]}`);
      // Both present: chunked wins and Content-Length is dropped (RFC 9112 §6.3), before any other check.
      fields = fields.filter(([k]) => k !== "Content-Length");
      chunked = true;
    }
  }
  // RFC 7234 §5.4: "Pragma: no-cache" alone counts as "Cache-Control: no-cache" (Go adds the field).
  const pragma = fields.find(([k]) => k === "Pragma");
  if (pragma?.[1] === "no-cache" && !fields.some(([k]) => k === "Cache-Control")) fields = [...fields, ["Cache-Control", "no-cache"]];
  const lens = fields.filter(([k]) => k === "Content-Length").map(([, v]) => v.trim());
  if (lens.length > 1) {
    if (lens.some((v) => v !== lens[0])) throw new ProtocolError("http: message cannot contain multiple Content-Length headers");
    // Duplicates of one value are folded into one field.
    const firstAt = fields.findIndex(([k]) => k === "Content-Length");
    fields = fields.filter(([k], i) => k !== "Content-Length" || i === firstAt);
  }
  const { status } = head;
  if ((status >= 100 && status < 200) || status === 204 || status === 304) return { framing: { kind: "none" }, fields };
  if (chunked) return { framing: { kind: "chunked" }, fields };
  const cl = lens[0] ?? "";
  if (cl !== "") {
    if (!/^\d{1,19}$/.test(cl)) throw new ProtocolError(`bad Content-Length "${cl}"`);
    return { framing: { kind: "length", length: Number(cl) }, fields };
  }
  // No length (or an empty one, which Go drops): the body runs until the server closes.
  return { framing: { kind: "close" }, fields: fields.filter(([k]) => k !== "Content-Length") };
}

/**
 * The server closed the connection before the body's framing said it was done (short
 * Content-Length body, cut chunked body). oohelperd does not see this as a failure: netxlite wraps
 * the socket's io.EOF, so Go's body reader does not recognise it to turn it into
 * io.ErrUnexpectedEOF, and ReadAllContext then treats the (wrapped) EOF as a clean end. What was
 * read is kept and no failure is reported; readBody below does the same.
 */
class PrematureEof extends Error {}
const unexpectedEof = () => new PrematureEof("unexpected EOF");

async function readBody(reader: SocketReader, f: Framing, max: number): Promise<{ data: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  let size = 0;
  const take = (b: Buffer) => {
    const room = max - size;
    const part = b.length > room ? b.subarray(0, room) : b;
    parts.push(part);
    size += part.length;
  };
  try {
    if (f.kind === "length") {
      let left = f.length;
      while (left > 0 && size < max) {
        const b = await reader.chunk(Math.min(left, max - size));
        if (b === null) throw unexpectedEof();
        take(b);
        left -= b.length;
      }
    } else if (f.kind === "close") {
      while (size < max) {
        const b = await reader.chunk(max - size);
        if (b === null) break;
        take(b);
      }
    } else if (f.kind === "chunked") {
      for (;;) {
        const sizeLine = await reader.line(MAX_CHUNK_LINE);
        if (sizeLine === null) throw unexpectedEof();
        const hex = sizeLine.split(";", 1)[0]!.replace(/[ \t]+$/, "");
        if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw new ProtocolError("invalid byte in chunk length");
        let left = Number.parseInt(hex, 16);
        if (left === 0) {
          // Trailer fields, then the blank line.
          for (;;) {
            const t = await reader.line(MAX_HEAD_BYTES);
            if (t === null) throw unexpectedEof();
            if (t === "") break;
          }
          break;
        }
        while (left > 0) {
          if (size >= max) return { data: Buffer.concat(parts, size), error: null };
          const b = await reader.chunk(Math.min(left, max - size));
          if (b === null) throw unexpectedEof();
          take(b);
          left -= b.length;
        }
        // Go wants exactly CRLF after chunk data.
        const crlf = await reader.line(2);
        if (crlf === null) throw unexpectedEof();
        if (crlf !== "") throw new ProtocolError("malformed chunked encoding");
      }
    }
    return { data: Buffer.concat(parts, size), error: null };
  } catch (error) {
    return { data: Buffer.concat(parts, size), error: error instanceof PrematureEof ? null : error };
  }
}

export async function http1Get(req: Http1Request): Promise<Http1Response> {
  const socket = await connect(req.url, req.addrs, req.trust, req.signal);
  const onAbort = () => socket.destroy(req.signal.reason as Error);
  req.signal.addEventListener("abort", onAbort, { once: true });
  const close = () => {
    req.signal.removeEventListener("abort", onAbort);
    socket.destroy();
  };
  try {
    const reader = new SocketReader(socket);
    socket.write(requestHead(req.url, req.headers));
    const head = await readHead(reader);
    const { framing: f, fields } = framing(head);
    return {
      status: head.status,
      headers: fields,
      readBody: (max) => readBody(reader, f, max),
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}
