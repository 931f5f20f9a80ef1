import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { rollingLifetime, sendCacheableJson, type RollingEndpoint } from "../http/cache-policy";
import { readQuery, timeoutResponse } from "./read-query";

/** Runs one parameterized SELECT under the Explorer time limit and returns its rows. */
export type Rows = <T>(sql: string, params?: Record<string, unknown>) => Promise<T[]>;

/**
 * The common tail of every statistics endpoint: run the queries `build` needs, answer with the
 * endpoint's cache lifetime, or 504 JSON when a query hits the time limit.
 */
export async function statsResponse(
  c: Context<AppEnv>,
  endpoint: RollingEndpoint,
  build: (rows: Rows, now: Date) => Promise<unknown>,
): Promise<Response> {
  const { db, config } = c.get("services");
  const rows: Rows = async <T>(sql: string, params: Record<string, unknown> = {}) =>
    (await readQuery<T>(db, sql, params, config.explorer.queryTimeoutS)).rows;
  try {
    const data = await build(rows, new Date());
    return sendCacheableJson(c, data, rollingLifetime(endpoint, config.explorer.cache));
  } catch (err) {
    return timeoutResponse(c, err);
  }
}
