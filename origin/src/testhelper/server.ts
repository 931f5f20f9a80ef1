import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createControlHandler, type ControlHandler } from "./handler";
import { resolveOptions, type TestHelperOptions } from "./options";

export interface TestHelperServerOptions extends TestHelperOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
}

export interface RunningTestHelper {
  url: string;
  port: number;
  /** Stops listening and drops open connections; measurements in progress end as "interrupted". */
  close(): Promise<void>;
}

/** oohelperd's http.Server ReadHeaderTimeout. */
export const HEADER_TIMEOUT_MS = 8_000;

/** The body as text, or "too_large" as soon as more than `max` bytes arrived (never buffers more). */
function readBody(req: IncomingMessage, max: number): Promise<string | "too_large"> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > max) return Promise.resolve("too_large");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > max) {
        req.off("data", onData);
        req.resume(); // discard the rest; the answer closes the connection
        return resolve("too_large");
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks, length).toString("utf8")));
    req.once("error", reject);
  });
}

async function serveOne(handler: ControlHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // The client going away stops the measurement ("interrupted"), as with oohelperd's request context.
  const gone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  const a = await handler.answer(req.method ?? "GET", req.headers["user-agent"], (max) => readBody(req, max), gone.signal);
  if (res.destroyed) return;
  const text = JSON.stringify(a.body);
  res.writeHead(a.status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...a.headers,
    ...(a.status === 413 ? { Connection: "close" } : {}),
  });
  res.end(text);
}

export async function startTestHelper(opts: TestHelperServerOptions): Promise<RunningTestHelper> {
  const { host = "127.0.0.1", port, ...helperOpts } = opts;
  const handler = createControlHandler(resolveOptions(helperOpts));
  const server = createServer(
    {
      // oohelperd: ReadHeaderTimeout 8 s. Node checks these timers every connectionsCheckingInterval
      // (30 s by default, which held slow headers for 33 s): check every second instead.
      headersTimeout: HEADER_TIMEOUT_MS,
      // oohelperd sets no body timeout; ours bounds the whole upload (≤ 16 MiB) generously.
      requestTimeout: 120_000,
      connectionsCheckingInterval: 1_000,
      // Go keeps idle connections open; the bridge reuses its connections to the helper.
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      serveOne(handler, req, res).catch(() => res.destroy());
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
    server.listen(port, host);
  });
  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
