import { mkdirSync } from "node:fs";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import type { ClickHouseClientConfigOptions } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import type { ClickHouseConfig } from "../config";

// One factory, two engines: embedded chDB (default, one process owns the data directory) or a
// ClickHouse server/cluster over HTTP. Callers only ever see the standard @clickhouse/client API, so
// SQL and parameter binding ({name:Type}) are identical in both modes.

export interface Database {
  readonly client: ClickHouseClient;
  readonly kind: ClickHouseConfig["kind"];
  readonly description: string;
  /** Throws when the database does not answer. */
  check(): Promise<void>;
  close(): Promise<void>;
}

const commonSettings = {
  // UInt64 as JSON numbers: every counter we read fits in 2^53.
  output_format_json_quote_64bit_integers: 0,
  date_time_input_format: "best_effort",
} as const;

export function openDatabase(cfg: ClickHouseConfig): Database {
  let client: ClickHouseClient;
  let description: string;
  if (cfg.kind === "embedded") {
    mkdirSync(cfg.path, { recursive: true });
    const connection = createChdbConnection({ path: cfg.path });
    client = createClient({
      // Two copies of the client's types (chdb bundles its own): the cast is type-only.
      connection: connection as unknown as NonNullable<ClickHouseClientConfigOptions["connection"]>,
      database: cfg.database,
      clickhouse_settings: { ...commonSettings, max_execution_time: cfg.queryTimeoutS },
    });
    description = `chdb:${cfg.path}`;
  } else {
    client = createClient({
      url: cfg.url,
      database: cfg.database,
      username: cfg.username,
      password: cfg.password,
      request_timeout: (cfg.queryTimeoutS + 5) * 1000,
      clickhouse_settings: { ...commonSettings, max_execution_time: cfg.queryTimeoutS },
    });
    const u = new URL(cfg.url);
    description = `clickhouse:${u.protocol}//${u.host}/${cfg.database}`;
  }
  return {
    client,
    kind: cfg.kind,
    description,
    async check() {
      const r = await client.query({ query: "SELECT 1 AS ok", format: "JSONEachRow" });
      const rows = await r.json<{ ok: number }>();
      if (rows[0]?.ok !== 1) throw new Error("unexpected answer to SELECT 1");
    },
    async close() {
      await client.close();
    },
  };
}

/** Runs a parameterized query and returns its rows. */
export async function queryRows<T>(db: Database, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const r = await db.client.query({ query, query_params: params, format: "JSONEachRow" });
  return r.json<T>();
}
