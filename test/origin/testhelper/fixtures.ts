// Loopback-only servers the test helper measures in these tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SelfSigned {
  key: string;
  cert: string;
}

/** A throwaway self-signed certificate for localhost / 127.0.0.1. */
/** Self-signed for localhost / 127.0.0.1; `cnOnly`: CN=localhost and no subjectAltName at all. */
export function makeSelfSigned(opts: { cnOnly?: boolean } = {}): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), "th-cert-"));
  try {
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-subj", "/CN=localhost",
        ...(opts.cnOnly ? [] : ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]),
        "-days", "1",
        "-keyout", join(dir, "key.pem"),
        "-out", join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

export interface Target {
  port: number;
  /** Every request the server answered, in order. */
  seen: Seen[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export const PAGE = "<html><head><title>Hello target</title></head><body>hi</body></html>";
export const FINAL_PAGE = "<html><head><title>\n  Final page  \n</title></head><body>done</body></html>";

function route(req: IncomingMessage, res: ServerResponse, port: number, scheme: string): void {
  const path = req.url ?? "/";
  switch (path) {
    case "/r1":
      res.writeHead(302, { Location: "/r2", "Set-Cookie": "sid=abc; Path=/" });
      return void res.end();
    case "/r2": // absolute Location
      res.writeHead(301, { Location: `${scheme}://127.0.0.1:${port}/r3` });
      return void res.end();
    case "/r3":
      res.writeHead(307, { Location: "/final" });
      return void res.end();
    case "/final":
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "X-Final": "yes" });
      return void res.end(FINAL_PAGE);
    case "/to-second": // second.test resolves to a loopback and a private address in the tests
      res.writeHead(302, { Location: `http://second.test:${port}/after-redirect` });
      return void res.end();
    case "/loop":
      res.writeHead(302, { Location: "/loop" });
      return void res.end();
    case "/big":
      res.writeHead(200, { "Content-Type": "text/plain" });
      return void res.end("x".repeat(5000));
    case "/no-location":
      res.writeHead(302, { "Content-Type": "text/plain" });
      return void res.end("no location here");
    default:
      res.writeHead(200, { "Content-Type": "text/html", "X-Multi": ["one", "two"] });
      return void res.end(PAGE);
  }
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

async function startTarget(server: Server, scheme: string, host = "127.0.0.1"): Promise<Target> {
  const seen: Seen[] = [];
  let connections = 0;
  let port = 0;
  server.on("connection", () => connections++);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    route(req, res, port, scheme);
  });
  port = await listen(server, host);
  return {
    port,
    seen,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function startHttpTarget(host?: string): Promise<Target> {
  return startTarget(createHttpServer(), "http", host);
}

export function startHttpsTarget(cert: SelfSigned): Promise<Target> {
  return startTarget(createHttpsServer({ key: cert.key, cert: cert.cert }), "https");
}

/** Accepts connections and never says a word (not even a TLS ServerHello). */
export async function startHangingServer(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ControlAnswer {
  status: number;
  contentType: string | null;
  json: any; // the tests assert it field by field
}

export async function postControl(base: string, body: unknown, headers: Record<string, string> = {}): Promise<ControlAnswer> {
  const res = await fetch(`${base}/`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get("content-type"), json: await res.json() };
}
