import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../../origin/src/config";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { createLogger } from "../../../origin/src/logger";
import { closeServices, openServices, type Services } from "../../../origin/src/services";

// Real services (embedded chDB, local blob store, GeoIP, spool) on a temp DATA_DIR in this test
// process — one per test file, as vitest forks a process per file.

export interface TestServices {
  services: Services;
  dataDir: string;
  close(): Promise<void>;
}

export async function openTestServices(env: Record<string, string> = {}, opts: { background?: boolean } = {}): Promise<TestServices> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "ooni-ops-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    TESTLISTS_BOOTSTRAP_DIR: "none",
    FASTPATH_WORKERS: "1",
    ...env,
  });
  const services = await openServices(config, createLogger("silent"), { background: opts.background ?? false });
  return {
    services,
    dataDir,
    async close() {
      await closeServices(services);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** count() and an order-independent hash of every row: equal before and after ⇔ the table is unchanged. */
export async function tableFingerprint(services: Services, table: string): Promise<{ n: number; h: string }> {
  const [row] = await queryRows<{ n: number; h: string }>(
    services.db,
    `SELECT count() AS n, toString(sum(cityHash64(*))) AS h FROM ${table}`,
  );
  return { n: Number(row!.n), h: row!.h };
}

/**
 * A loopback HTTP server answering from a map of path → body (or status). Paths in `cutShort`
 * announce a longer Content-Length than they send, then drop the connection (a broken transfer).
 */
export async function serveFiles(
  routes: Map<string, Buffer | number>,
  cutShort: Set<string> = new Set(),
): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    hits.push(p);
    const body = routes.get(p);
    if (body === undefined || typeof body === "number") {
      res.writeHead(typeof body === "number" ? body : 404).end();
      return;
    }
    if (cutShort.has(p)) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length * 2) });
      res.write(body, () => res.destroy());
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
