import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createTestHelperApp } from "./app";
import type { TestHelperOptions } from "./options";

/** oohelperd's http.Server ReadHeaderTimeout. */
export const HEADER_TIMEOUT_MS = 8_000;

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

export async function startTestHelper(opts: TestHelperServerOptions): Promise<RunningTestHelper> {
  const { host = "127.0.0.1", port, ...helperOpts } = opts;
  const app = createTestHelperApp(helperOpts);
  const server = serve({
    fetch: app.fetch,
    hostname: host,
    port,
    serverOptions: {
      // oohelperd: ReadHeaderTimeout 8 s. Node checks these timers every connectionsCheckingInterval
      // (30 s by default, which held slow headers for 33 s): check every second instead.
      headersTimeout: HEADER_TIMEOUT_MS,
      // oohelperd sets no body timeout; ours bounds the whole upload (≤ 16 MiB) generously.
      requestTimeout: 120_000,
      connectionsCheckingInterval: 1_000,
      // Go keeps idle connections open; the bridge reuses its connections to the helper.
      keepAliveTimeout: 65_000,
    },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", resolve);
    server.once("error", reject);
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
