import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createApp } from "../../../origin/src/app";
import { loadConfig } from "../../../origin/src/config";
import { createLogger } from "../../../origin/src/logger";
import { closeServices, openServices, type Services } from "../../../origin/src/services";

// The real origin app and services in this test process, on a temp data directory (embedded chDB
// binds one directory per process, and vitest runs each file in its own fork). Requests go
// through app.request: the same routing, validation and handlers as over HTTP, without a socket.

export interface InProcessOrigin {
  services: Services;
  app: ReturnType<typeof createApp>;
  /** GET a path, return status, headers and the body as text and (when JSON) parsed. */
  get(pathAndQuery: string, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  /** Another app over the same services with a changed configuration. */
  withConfig(patch: (c: Services["config"]) => Services["config"]): InProcessOrigin;
  close(): Promise<void>;
}

function wrap(services: Services, dataDir: string | null): InProcessOrigin {
  const app = createApp(services);
  return {
    services,
    app,
    async get(p, headers = {}) {
      const res = await app.request(p, { headers });
      const text = await res.text();
      let json: unknown = undefined;
      if ((res.headers.get("content-type") ?? "").includes("json")) json = JSON.parse(text);
      return { status: res.status, headers: res.headers, text, json };
    },
    withConfig(patch) {
      return wrap({ ...services, config: patch(services.config) }, null);
    },
    async close() {
      if (dataDir === null) return;
      await closeServices(services);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startInProcessOrigin(env: Record<string, string> = {}): Promise<InProcessOrigin> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "ooni-edge-stats-"));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent", ...env });
  const services = await openServices(config, createLogger("silent"));
  return wrap(services, dataDir);
}
