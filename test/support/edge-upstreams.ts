import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Browser } from "playwright-core";

// Controllable upstreams for the edge tests (which run inside workerd and reach these over loopback
// HTTP): fake test helpers that answer, fail, reset or hang on command; fake origins that count
// requests, answer with chosen headers, or go down; and a renderer that shows an HTML document to
// headless Chromium and reports what a reader sees. Tests drive them through one control server.

type HelperMode = "ok" | "fail-500" | "busy-503" | "reset" | "reset-mid-body" | "hang" | "refuse";
type OriginMode = "ok" | "fail-500" | "refuse" | "hang" | "slow";

interface Listener {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  listening: boolean;
}

interface FakeHelper extends Listener {
  id: string;
  mode: HelperMode;
  requests: number;
  served: number;
  lastBody: string | null;
  lastHeaders: Record<string, string | string[] | undefined> | null;
}

interface OriginRoute {
  status: number;
  headers: Record<string, string>;
  /** Bodies may use {n} (the request count for this path and query) so answers differ over time. */
  body: string;
}

interface FakeOrigin extends Listener {
  id: string;
  mode: OriginMode;
  slowMs: number;
  routes: Map<string, OriginRoute>;
  hits: Map<string, number>;
  requests: { method: string; url: string; headers: Record<string, string | string[] | undefined> }[];
}

export interface RenderedPage {
  title: string;
  heading: string | null;
  poolVisible: boolean;
  poolHeaders: string[];
  /** Each row of the pool table: its cells' text as rendered (innerText). */
  pool: string[][];
  failures: string[][];
  hitRatio: string | null;
}

// Runs in the page (a string, because this program is type-checked without the DOM library).
const READ_PAGE = `(() => {
  const table = (id) => Array.from(document.querySelectorAll("#" + id + " tbody tr"))
    .map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.innerText.trim()));
  const pool = document.querySelector("#pool");
  const box = pool ? pool.getBoundingClientRect() : null;
  return {
    title: document.title,
    heading: document.querySelector("h1") ? document.querySelector("h1").innerText : null,
    poolVisible: !!box && box.width > 0 && box.height > 0 && pool.checkVisibility(),
    poolHeaders: Array.from(document.querySelectorAll("#pool thead th")).map((th) => th.innerText.trim()),
    pool: table("pool"),
    failures: table("failures"),
    hitRatio: document.querySelector("#hit-ratio") ? document.querySelector("#hit-ratio").innerText.trim() : null,
  };
})()`;

export interface EdgeUpstreams {
  controlUrl: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function startListener(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listener> {
  const server = createServer(handler);
  server.keepAliveTimeout = 1000;
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  return { server, port, sockets, listening: true };
}

/** "refuse": stop listening and drop every connection, so connects fail as with a dead host. */
async function setListening(l: Listener, on: boolean) {
  if (on === l.listening) return;
  if (!on) {
    l.listening = false;
    await new Promise<void>((resolve) => {
      l.server.close(() => resolve());
      for (const s of l.sockets) s.destroy();
    });
  } else {
    await listen(l.server, l.port);
    l.listening = true;
  }
}

export async function startEdgeUpstreams(): Promise<EdgeUpstreams> {
  const helpers = new Map<string, FakeHelper>();
  const origins = new Map<string, FakeOrigin>();
  let originCount = 0;
  let browser: Browser | null = null;

  async function createHelper(id: string): Promise<FakeHelper> {
    const h = {} as FakeHelper;
    const l = await startListener((req, res) => {
      h.requests++;
      void (async () => {
        const body = await readBody(req).catch(() => Buffer.alloc(0));
        h.lastBody = body.length <= 65536 ? body.toString("utf8") : `(${body.length} bytes)`;
        h.lastHeaders = req.headers;
        switch (h.mode) {
          case "fail-500":
            return json(res, 500, { error: "helper broken on purpose" });
          case "busy-503":
            return json(res, 503, { error: "too many requests in flight" }, { "retry-after": "5" });
          case "reset":
            return req.socket.destroy();
          case "reset-mid-body":
            res.writeHead(200, { "content-type": "application/json", "content-length": "4096" });
            res.write('{"tcp_connect":{"');
            return setTimeout(() => req.socket.destroy(), 20);
          case "hang":
            return; // never answers; the socket closes when the test harness stops
          default:
            h.served++;
            if (req.method === "GET") return json(res, 200, { message: "Hello OONItarian!", helper: h.id });
            return json(res, 200, {
              helper: h.id,
              method: req.method,
              path: req.url,
              received_bytes: body.length,
              received: body.length <= 65536 ? h.lastBody : null,
            });
        }
      })();
    });
    Object.assign(h, l, { id, mode: "ok", requests: 0, served: 0, lastBody: null, lastHeaders: null });
    helpers.set(id, h);
    return h;
  }

  async function createOrigin(): Promise<FakeOrigin> {
    const o = {} as FakeOrigin;
    const l = await startListener((req, res) => {
      const url = req.url ?? "/";
      o.requests.push({ method: req.method ?? "GET", url, headers: req.headers });
      const n = (o.hits.get(url) ?? 0) + 1;
      o.hits.set(url, n);
      void (async () => {
        await readBody(req).catch(() => undefined);
        if (o.mode === "hang") return;
        if (o.mode === "fail-500") return json(res, 500, { error: "origin broken on purpose" });
        if (o.mode === "slow") await new Promise((r) => setTimeout(r, o.slowMs));
        const path = url.split("?")[0]!;
        const route = o.routes.get(url) ?? o.routes.get(path);
        if (route) {
          const text = route.body.replaceAll("{n}", String(n));
          res.writeHead(route.status, { "content-length": Buffer.byteLength(text), ...route.headers });
          return res.end(text);
        }
        json(res, 200, { path, url, method: req.method, n }, { "cache-control": "public, max-age=60" });
      })();
    });
    const id = `origin-${++originCount}`;
    Object.assign(o, l, { id, mode: "ok", slowMs: 200, routes: new Map(), hits: new Map(), requests: [] });
    origins.set(id, o);
    return o;
  }

  async function render(html: string) {
    if (!browser) {
      const { chromium } = await import("playwright-core");
      const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
      browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    }
    const page = await browser.newPage({ javaScriptEnabled: false });
    try {
      await page.setContent(html, { waitUntil: "load" });
      return (await page.evaluate(READ_PAGE)) as RenderedPage;
    } finally {
      await page.close();
    }
  }

  const control = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "http://control");
        const parts = url.pathname.split("/").filter(Boolean);
        const body = req.method === "POST" ? await readBody(req) : Buffer.alloc(0);
        const input = body.length ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};

        if (parts[0] === "helpers" && parts.length === 1 && req.method === "POST") {
          const count = Number(input.count ?? 1);
          const tag = String(input.tag ?? "h");
          const made = [];
          for (let i = 0; i < count; i++) {
            const h = await createHelper(`${tag}-${i}`);
            made.push({ id: h.id, url: `http://127.0.0.1:${h.port}` });
          }
          return json(res, 200, { helpers: made });
        }
        if (parts[0] === "helpers" && parts.length === 2) {
          const h = helpers.get(parts[1]!);
          if (!h) return json(res, 404, { error: "no such helper" });
          if (req.method === "POST") {
            const mode = String(input.mode) as HelperMode;
            await setListening(h, mode !== "refuse");
            h.mode = mode;
            return json(res, 200, { id: h.id, mode: h.mode });
          }
          return json(res, 200, { id: h.id, mode: h.mode, requests: h.requests, served: h.served, last_body: h.lastBody, last_headers: h.lastHeaders });
        }
        if (parts[0] === "origins" && parts.length === 1 && req.method === "POST") {
          const o = await createOrigin();
          return json(res, 200, { id: o.id, url: `http://127.0.0.1:${o.port}` });
        }
        if (parts[0] === "origins" && parts.length >= 2) {
          const o = origins.get(parts[1]!);
          if (!o) return json(res, 404, { error: "no such origin" });
          if (req.method === "POST") {
            if (input.mode !== undefined) {
              const mode = String(input.mode) as OriginMode;
              await setListening(o, mode !== "refuse");
              o.mode = mode;
            }
            if (input.slow_ms !== undefined) o.slowMs = Number(input.slow_ms);
            for (const r of (input.routes as ({ path: string } & Partial<OriginRoute>)[] | undefined) ?? []) {
              o.routes.set(r.path, { status: r.status ?? 200, headers: r.headers ?? {}, body: r.body ?? "" });
            }
            return json(res, 200, { id: o.id, mode: o.mode });
          }
          return json(res, 200, { id: o.id, mode: o.mode, hits: Object.fromEntries(o.hits), requests: o.requests });
        }
        if (parts[0] === "render" && req.method === "POST") {
          return json(res, 200, await render(String(input.html ?? "")));
        }
        json(res, 404, { error: "no such control endpoint" });
      } catch (err) {
        json(res, 500, { error: String((err as Error).message ?? err) });
      }
    })();
  });
  const controlPort = await listen(control);

  return {
    controlUrl: `http://127.0.0.1:${controlPort}`,
    async close() {
      await (browser as Browser | null)?.close().catch(() => undefined);
      const all: Listener[] = [...helpers.values(), ...origins.values()];
      await Promise.all(
        all.map((l) =>
          l.listening
            ? new Promise<void>((resolve) => {
                l.server.close(() => resolve());
                for (const s of l.sockets) s.destroy();
              })
            : undefined,
        ),
      );
      await new Promise<void>((resolve) => {
        control.close(() => resolve());
        control.closeAllConnections();
      });
    },
  };
}
