import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createSecureContext, createServer as createTlsServer, type SecureContext } from "node:tls";

// The target farm: the "websites" the real probe and both test helpers measure, on one loopback
// address. The HTTP server is written on raw sockets so that it can send what real servers send
// and well-behaved libraries refuse to produce: bare-LF line endings, invalid header names, both
// Transfer-Encoding and Content-Length, bodies shorter than announced, slow headers and bodies.
// HTTPS serves the same routes with a self-signed certificate (so clients see a TLS failure: the
// certificate is signed by nobody they trust). A server name starting with `cn-only-` gets a
// certificate naming it only in its Common Name, with no subjectAltName: Go never matches a name
// against the CN, Node's checkServerIdentity falls back to it. Every route is listed in docs/interop.md.

export interface Farm {
  host: string;
  httpPorts: number[];
  httpsPort: number;
  /** Requests seen, "METHOD path host". */
  seen: string[];
  close(): Promise<void>;
}

const CRLF = "\r\n";

function page(title: string, words: number): string {
  const body = Array.from({ length: words }, (_, i) => `word${i % 97}`).join(" ");
  return `<!doctype html><html><head><title>${title}</title></head><body><p>${body}</p></body></html>\n`;
}

function response(status: number, reason: string, headers: [string, string][], body: string, eol = CRLF): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  return lines.join(eol) + eol + eol + body;
}

function ok(body: string, extra: [string, string][] = []): string {
  return response(200, "OK", [["Content-Type", "text/html; charset=utf-8"], ["Content-Length", String(Buffer.byteLength(body))], ...extra], body);
}

interface Request {
  method: string;
  path: string;
  host: string;
  cookie: string;
}

/** What each path answers: a whole response, or a function that drives the socket itself. */
function route(req: Request): string | ((s: Socket) => void) {
  const p = req.path;
  const redirect = (to: string, extra: [string, string][] = []) =>
    response(302, "Found", [["Location", to], ["Content-Length", "0"], ...extra], "");
  let m: RegExpMatchArray | null;
  if ((m = p.match(/^\/redirect\/(\d+)$/))) {
    const n = Number(m[1]);
    return n === 0 ? ok(page("Redirect chain end", 120)) : redirect(`/redirect/${n - 1}`);
  }
  if (p === "/cookie/set") return redirect("/cookie/check", [["Set-Cookie", "session=abc123; Path=/"]]);
  if (p === "/cookie/check")
    return req.cookie.includes("session=abc123") ? ok(page("Cookie accepted", 80)) : response(403, "Forbidden", [["Content-Length", "9"]], "no cookie");
  // A cookie for a public suffix must be dropped by a public-suffix-aware jar: the next hop sees none.
  if (p === "/cookie/public-suffix") return redirect("/cookie/none", [["Set-Cookie", "tracker=1; Domain=co.uk; Path=/"]]);
  if (p === "/cookie/none") return req.cookie.includes("tracker=1") ? ok(page("Cookie leaked", 30)) : ok(page("No cookie", 30));
  if ((m = p.match(/^\/status\/(\d{3})$/))) {
    const body = page(`Status ${m[1]}`, 40);
    return response(Number(m[1]), "Status", [["Content-Type", "text/html"], ["Content-Length", String(Buffer.byteLength(body))]], body);
  }
  if (p === "/title/spaces") return ok(page("   Padded   title with  inner   spaces   ", 60));
  if (p === "/title/newlines") return ok(page("\n  Title\n  on lines\n", 60));
  if (p === "/title/entities") return ok(page("Caf&eacute; &amp; more", 60));
  if (p === "/title/none") return ok("<html><body>no title here</body></html>\n");
  if (p === "/title/long") return ok(page("T".repeat(300), 20));
  if (p === "/blockpage")
    return response(200, "OK", [["Content-Type", "text/html"], ["Content-Length", "130"], ["X-Blocked-By", "interop"]], page("Access denied", 8).padEnd(130, " ").slice(0, 130));
  if (p === "/headers/many")
    return ok(page("Many headers", 50), [["X-Interop-One", "1"], ["X-Interop-Two", "2"], ["Server", "interop-farm"], ["Cache-Control", "no-store"]]);
  if (p === "/malformed/bare-lf") {
    const body = page("Bare LF", 40);
    return response(200, "OK", [["Content-Type", "text/html"], ["Content-Length", String(Buffer.byteLength(body))]], body, "\n");
  }
  if (p === "/malformed/header-name") {
    const body = page("Odd header name", 40);
    return response(200, "OK", [["Content-Type", "text/html"], ["Bad Header", "x"], ["Content-Length", String(Buffer.byteLength(body))]], body);
  }
  if (p === "/malformed/te-and-cl") {
    const body = page("Chunked and length", 40);
    const chunked = `${Buffer.byteLength(body).toString(16)}${CRLF}${body}${CRLF}0${CRLF}${CRLF}`;
    return response(200, "OK", [["Content-Type", "text/html"], ["Transfer-Encoding", "chunked"], ["Content-Length", "5"]], chunked);
  }
  if (p === "/malformed/short-body") {
    return (s) => {
      const body = page("Short body", 40);
      s.end(response(200, "OK", [["Content-Type", "text/html"], ["Content-Length", String(Buffer.byteLength(body) + 500)]], body));
    };
  }
  if (p === "/malformed/garbage") return (s) => s.end("this is not HTTP at all\r\n\r\n");
  if (p === "/malformed/close") return (s) => s.destroy();
  if (p === "/slow/headers") {
    return (s) => {
      const t = setTimeout(() => s.end(ok(page("Slow headers", 40), [["Connection", "close"]])), 2500);
      s.once("close", () => clearTimeout(t));
    };
  }
  if (p === "/slow/body") {
    return (s) => {
      const body = page("Slow body", 200);
      s.write(response(200, "OK", [["Content-Type", "text/html"], ["Content-Length", String(Buffer.byteLength(body))], ["Connection", "close"]], ""));
      let at = 0;
      const step = Math.ceil(body.length / 5);
      const timer = setInterval(() => {
        if (s.destroyed) return clearInterval(timer);
        s.write(body.slice(at, at + step));
        at += step;
        if (at >= body.length) {
          clearInterval(timer);
          s.end();
        }
      }, 300);
      s.once("close", () => clearInterval(timer));
    };
  }
  if (p === "/large") return ok(page("Large page", 60_000));
  return ok(page(`Interop site ${req.host.split(":")[0]}`, 150), [["X-Interop-Site", "1"]]);
}

function serve(socket: Socket, seen: string[]): void {
  let buf = Buffer.alloc(0);
  socket.on("error", () => {});
  socket.setTimeout(30_000, () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > 64 * 1024) socket.destroy();
        return;
      }
      const head = buf.subarray(0, end).toString("latin1").split("\r\n");
      buf = buf.subarray(end + 4); // the farm's routes take no request bodies
      const [method = "", target = "/"] = head[0]!.split(" ");
      const header = (name: string) =>
        head.slice(1).find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? "";
      const req: Request = { method, path: target.split("?")[0]!, host: header("host"), cookie: header("cookie") };
      seen.push(`${method} ${req.path} ${req.host}`);
      const r = route(req);
      if (typeof r === "function") return r(socket);
      socket.write(r);
    }
  });
}

/** A self-signed certificate; `cn` alone (no `san`): no subjectAltName extension at all. */
function selfSigned(cn = "interop farm", san: string | null = "DNS:*.interop.test"): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-farm-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
      "-subj", `/CN=${cn}`, ...(san === null ? [] : ["-addext", `subjectAltName=${san}`]),
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return { key: readFileSync(path.join(dir, "key.pem")), cert: readFileSync(path.join(dir, "cert.pem")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

/** The farm on `host`: HTTP on each of `httpPorts` (0 = any), HTTPS (self-signed) on `httpsPort`. */
export async function startFarm(host: string, httpPorts: number[], httpsPort: number): Promise<Farm> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  const servers: Server[] = [];
  const ports: number[] = [];
  for (const p of httpPorts) {
    const srv = createServer((s) => (track(s), serve(s, seen)));
    ports.push(await listen(srv, host, p));
    servers.push(srv);
  }
  const cnOnly = new Map<string, SecureContext>();
  const SNICallback = (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
    if (!/^cn-only-[a-z0-9-]+\.interop\.test$/.test(name)) return cb(null, undefined); // the default certificate
    if (!cnOnly.has(name)) cnOnly.set(name, createSecureContext(selfSigned(name, null)));
    cb(null, cnOnly.get(name));
  };
  const tlsSrv = createTlsServer({ ...selfSigned(), SNICallback }, (s) => (track(s), serve(s, seen)));
  tlsSrv.on("tlsClientError", () => {});
  const tlsPort = await listen(tlsSrv, host, httpsPort);
  servers.push(tlsSrv);
  return {
    host,
    httpPorts: ports,
    httpsPort: tlsPort,
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
