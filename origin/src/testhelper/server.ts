import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createTestHelperApp } from "./app";
import type { TestHelperOptions } from "./options";

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
  const server = serve({ fetch: app.fetch, hostname: host, port }) as Server;
  // A control answer takes up to ~19 s (4 s DNS, then 15 s connects alongside a 15 s fetch).
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
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
