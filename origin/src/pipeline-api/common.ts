import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ErrorBody } from "../stats/schemas";
import { readQuery, timeoutResponse } from "../stats/read-query";
import { jsonError } from "../http/errors";
import { chInstant, intParam, plainItem, probeAsnParam, probeCcParam, since } from "./params";

// What the observation and analysis routes share: sort enums, the non-200 responses they document,
// the WHERE builder (values only ever travel as {name:Type} parameters), paging and the query call
// that turns a ClickHouse timeout into a 504.

const ORDER_BY = ["measurement_start_time", "input", "probe_cc", "probe_asn", "test_name"] as const;
const ORDER = ["asc", "desc", "ASC", "DESC"] as const;

/** The query parameters both list routes take, in upstream's order; each names its own default window. */
export function listParams(window: { since: string; until: string }) {
  return {
    measurement_uid: plainItem.optional(),
    probe_asn: probeAsnParam,
    probe_cc: probeCcParam,
    test_name: plainItem.optional(),
    since: since(window.since),
    until: since(window.until),
    order_by: z.enum(ORDER_BY).optional(),
    order: z.enum(ORDER).optional(),
    offset: intParam("Rows to skip", "0"),
    limit: intParam("Rows to return (default 100, at most 10,000)", "100"),
  };
}

/** The 304/400/504 answers every cached read route of this API documents. */
const READ_RESPONSES = {
  304: { description: "Not modified (If-None-Match matched the ETag)" },
  400: { description: "Invalid parameter", content: { "application/json": { schema: ErrorBody } } },
  504: { description: "The query exceeded its time limit", content: { "application/json": { schema: ErrorBody } } },
} as const;

/** A read route's responses: its JSON body when 200, and the 304/400/504 that every one documents. */
export function readResponses<S extends z.ZodType>(description: string, schema: S) {
  return { 200: { description, content: { "application/json": { schema } } }, ...READ_RESPONSES };
}

/** WHERE clauses with placeholders and their parameters. Column names and types come from code, never from requests. */
export class Filters {
  readonly where: string[] = [];
  readonly params: Record<string, unknown> = {};

  /** `col = {col:type}` when a value is given; true if it was added. */
  eq(col: string, v: string | number | undefined, type = "String"): boolean {
    if (v === undefined) return false;
    this.where.push(`${col} = {${col}:${type}}`);
    this.params[col] = v;
    return true;
  }

  /** `col IN {col:Array(type)}` when the list is not empty; true if it was added. */
  in(col: string, list: (string | number)[], type: string): boolean {
    if (list.length === 0) return false;
    this.where.push(`${col} IN {${col}:Array(${type})}`);
    this.params[col] = list;
    return true;
  }

  /** measurement_start_time bounds, inclusive (≥, ≤) or exclusive (>, <) as each upstream route has them. */
  window(since: Date | null, until: Date | null, bounds: "inclusive" | "exclusive"): void {
    const [lo, hi] = bounds === "inclusive" ? [">=", "<="] : [">", "<"];
    if (since) {
      this.where.push(`measurement_start_time ${lo} {since:DateTime64(3, 'UTC')}`);
      this.params.since = chInstant(since);
    }
    if (until) {
      this.where.push(`measurement_start_time ${hi} {until:DateTime64(3, 'UTC')}`);
      this.params.until = chInstant(until);
    }
  }

  /** "WHERE a AND b", or nothing. */
  clause(): string {
    return this.where.length ? `WHERE ${this.where.join(" AND ")}` : "";
  }
}

export interface Page {
  offset: number;
  limit: number;
}

/** offset/limit of a list route (limit 1–10,000, default 100), or the 400 to answer. */
export function readPage(c: Context, q: { offset?: string; limit?: string }): Page | Response {
  const offset = Number(q.offset ?? 0);
  const limit = Number(q.limit ?? 100);
  if (limit < 1 || limit > 10_000) return jsonError(c, 400, "invalid limit: must be between 1 and 10000", { parameter: "limit" });
  return { offset, limit };
}

/** A list response's metadata, as upstream: no counts (-1), a next_url on the same path. */
export function listMetadata(c: Context, path: string, { offset, limit }: Page, t0: number) {
  return {
    count: -1,
    current_page: Math.ceil(offset / limit) + 1,
    limit,
    next_url: `${new URL(c.req.url).origin}${path}?offset=${offset + limit}&limit=${limit}`,
    offset,
    pages: -1,
    query_time: (performance.now() - t0) / 1000,
  };
}

/** The rows of a read query under the explorer time limit, or the 504 (or rethrown error) to answer. */
export async function readRows(c: Context<AppEnv>, sql: string, params: Record<string, unknown>): Promise<Record<string, unknown>[] | Response> {
  const { config, db } = c.get("services");
  try {
    return (await readQuery<Record<string, unknown>>(db, sql, params, config.explorer.queryTimeoutS)).rows;
  } catch (err) {
    return timeoutResponse(c, err);
  }
}
