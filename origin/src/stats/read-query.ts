import type { Context } from "hono";
import type { Database } from "../db/clickhouse";
import { jsonError } from "../http/errors";

// The Explorer read path: one parameterized SELECT with its own time limit, returning rows plus
// the engine's own statistics (db_stats in the aggregation response). The JSON output format
// carries `statistics` on both engines (embedded chDB has no HTTP summary header).

export interface DbStats {
  row_count: number;
  bytes: number;
  total_row_count: number;
  elapsed_seconds: number;
}

export class QueryTimeoutError extends Error {
  constructor(readonly limitS: number, cause: unknown) {
    super(`query exceeded the ${limitS} s time limit`, { cause });
    this.name = "QueryTimeoutError";
  }
}

interface JsonFormatBody<T> {
  data: T[];
  statistics?: { elapsed: number; rows_read: number; bytes_read: number };
}

function isTimeout(err: unknown): boolean {
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  // 159 = TIMEOUT_EXCEEDED from ClickHouse; the client's own request timeout (server mode) says "Timeout error".
  return e?.code === "159" || e?.type === "TIMEOUT_EXCEEDED" || (typeof e?.message === "string" && /^Timeout error/.test(e.message));
}

export async function readQuery<T>(
  db: Database,
  query: string,
  params: Record<string, unknown>,
  timeoutS: number,
): Promise<{ rows: T[]; stats: DbStats }> {
  try {
    const rs = await db.client.query({
      query,
      query_params: params,
      format: "JSON",
      clickhouse_settings: { max_execution_time: timeoutS },
    });
    const body = (await rs.json()) as unknown as JsonFormatBody<T>;
    const summary = parseSummary(rs.response_headers["x-clickhouse-summary"]);
    const rowsRead = body.statistics?.rows_read ?? 0;
    return {
      rows: body.data,
      stats: {
        row_count: rowsRead,
        bytes: body.statistics?.bytes_read ?? 0,
        // The server's estimate of rows to read, when it sends one (HTTP mode); else what was read.
        total_row_count: Math.max(summary?.total_rows_to_read ?? 0, rowsRead),
        elapsed_seconds: body.statistics?.elapsed ?? 0,
      },
    };
  } catch (err) {
    if (isTimeout(err)) throw new QueryTimeoutError(timeoutS, err);
    throw err;
  }
}

function parseSummary(h: string | string[] | undefined): { total_rows_to_read?: number } | null {
  if (typeof h !== "string") return null;
  try {
    const v = JSON.parse(h) as { total_rows_to_read?: string };
    return { total_rows_to_read: Number(v.total_rows_to_read ?? 0) };
  } catch {
    return null;
  }
}

/** 504 JSON for a query stopped by its time limit; anything else goes to the app's error handler. */
export function timeoutResponse(c: Context, err: unknown): Response {
  if (err instanceof QueryTimeoutError) {
    return jsonError(c, 504, "the query took too long and was stopped; narrow the time range or the filters", {
      limit_s: err.limitS,
    });
  }
  throw err;
}
