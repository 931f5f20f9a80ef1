import type { AddressInfo } from "node:net";
import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { startAdminSocket } from "./admin/server";
import { createApp } from "./app";
import type { Config } from "./config";
import { directCheckIn } from "./probe/checkin-direct/handler";
import { createLogger, type Logger } from "./logger";
import { closeServices, openServices, type Services } from "./services";
import { localExecutor, startTimers } from "./timers/service";

export interface RunningOrigin {
  url: string;
  port: number;
  services: Services;
  /** Stop accepting, let in-flight requests finish (up to the grace period), close the database. */
  close(): Promise<void>;
}

export async function startOrigin(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningOrigin> {
  const services = await openServices(config, log);
  const app = createApp(services);

  let inFlight = 0;
  let idle: (() => void) | null = null;
  const settled = () => {
    if (--inFlight === 0 && idle) idle();
  };
  // Check-in, the hottest route, is answered without hono when the request is the plain kind
  // probes send (probe/checkin-direct/); everything else goes to the app.
  const direct = directCheckIn(services);
  const honoListener = getRequestListener(
    async (req, env) => {
      inFlight++;
      try {
        return await app.fetch(req, env);
      } finally {
        settled();
      }
    },
    { hostname: config.origin.host },
  );
  const server = createServer((req, res) => {
    const answering = direct(req, res);
    if (answering === null) return void honoListener(req, res);
    inFlight++;
    void answering.finally(settled);
  });
  server.listen(config.origin.port, config.origin.host);
  // Probes send large bodies slowly over bad links; keep the defaults generous but bounded.
  server.requestTimeout = 5 * 60_000;
  server.headersTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", resolve);
    server.once("error", reject);
  }).catch(async (err) => {
    await closeServices(services);
    throw err;
  });
  // CLI commands that need the database run in here while we own it (see admin/protocol.ts).
  const admin = await startAdminSocket(services, log).catch(async (err) => {
    server.close();
    await closeServices(services);
    throw err;
  });
  // Periodic jobs (uploader, updaters, backup) run in here: with embedded chDB this is the one
  // process that may use the database. TIMERS_IN_ORIGIN=false leaves them to systemd units or a
  // separate `cli timers` (docs/operations.md#timers).
  const timers = config.timers.inOrigin ? startTimers(services, localExecutor(services)) : null;
  const port = (server.address() as AddressInfo).port;
  const host = config.origin.host.includes(":") ? `[${config.origin.host}]` : config.origin.host;
  const url = `http://${host}:${port}`;
  log.info({ url, database: services.db.description, blob_store: services.blobs.description }, "origin listening");

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    services,
    close() {
      closing ??= (async () => {
        log.info({ in_flight: inFlight }, "origin shutting down");
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (idle = resolve)),
            new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref()),
          ]);
        }
        server.closeAllConnections();
        await stopped;
        // Running jobs are asked to stop and awaited: they use the database closed below.
        await timers?.stop();
        await admin.close();
        await closeServices(services);
        log.info("origin stopped");
      })();
      return closing;
    },
  };
}
