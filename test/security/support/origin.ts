import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createApp } from "../../../origin/src/app";
import { loadConfig } from "../../../origin/src/config";
import { createLogger } from "../../../origin/src/logger";
import { closeServices, openServices, type Services } from "../../../origin/src/services";
import { call, loginViaOutbox, type CallOptions, type Fetcher, type Reply } from "../../origin/oonirun/support";

// The real origin app and services in this test process (embedded chDB on a temp data directory),
// with known secrets so tests can mint tokens on purpose, and three people logged in the way a
// person does (register → emailed link in the outbox → bearer): two users and an admin.

export const JWT_SECRET = "security-suite-jwt-secret-0123456789abcdef";
export const EDGE_SECRET = "security-suite-edge-secret-0123456789abcdef";
export const OWNER = "owner@sec.example.org";
export const OTHER = "other@sec.example.org";
export const ADMIN = "admin@sec.example.org";

export interface SecurityOrigin {
  services: Services;
  app: ReturnType<typeof createApp>;
  dataDir: string;
  f: Fetcher;
  req(method: string, p: string, o?: CallOptions): Promise<Reply>;
  who: { owner: string; other: string; admin: string };
  close(): Promise<void>;
}

export function securityEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    JWT_SECRET,
    EDGE_SHARED_SECRET: EDGE_SECRET,
    ADMIN_EMAILS: ADMIN,
    // Hundreds of requests from one address: the budgets are not what these tests are about.
    QUOTAS_ENABLED: "false",
    TIMERS_IN_ORIGIN: "false",
    ...extra,
  };
}

export async function startSecurityOrigin(extra: Record<string, string> = {}): Promise<SecurityOrigin> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "ooni-edge-security-"));
  const config = loadConfig(securityEnv(dataDir, extra));
  const services = await openServices(config, createLogger("silent"));
  const app = createApp(services);
  const f: Fetcher = async (p, init) => app.request(p, init);
  const outbox = path.join(dataDir, "outbox");
  const who = {
    owner: await loginViaOutbox(f, outbox, OWNER),
    other: await loginViaOutbox(f, outbox, OTHER),
    admin: await loginViaOutbox(f, outbox, ADMIN),
  };
  return {
    services,
    app,
    dataDir,
    f,
    req: (method, p, o) => call(f, method, p, o),
    who,
    async close() {
      await closeServices(services);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Row counts of every table in the database: what an injected statement would change. */
export async function tableCounts(services: Services): Promise<Record<string, number>> {
  const r = await services.db.client.query({
    query: "SELECT name FROM system.tables WHERE database = currentDatabase() AND NOT is_temporary ORDER BY name",
    format: "JSONEachRow",
  });
  const names = (await r.json<{ name: string }>()).map((x) => x.name);
  const out: Record<string, number> = {};
  for (const name of names) {
    const c = await services.db.client.query({ query: "SELECT count() AS n FROM {t:Identifier}", query_params: { t: name }, format: "JSONEachRow" });
    out[name] = Number((await c.json<{ n: string | number }>())[0]!.n);
  }
  return out;
}

/** Text that only a ClickHouse error (or a stack trace) would put into an answer. */
export const LEAK_RE = /DB::Exception|Code: \d{2,}|Syntax error|UNKNOWN_IDENTIFIER|system\.tables|clickhouse|chdb|at [\w.<>]+ \(|node:internal/i;
