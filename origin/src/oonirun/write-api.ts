import { randomInt } from "node:crypto";
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { expungeCheck, sessionOf } from "../auth/middleware";
import type { Session } from "../auth/tokens";
import { jsonError } from "../http/errors";

// Pieces shared by the write APIs people use (OONI Run links, findings, measurement feedback,
// prioritization rules): error schemas for the OpenAPI document, the optional viewer of public
// routes, JSON body limits, boolean query flags, numeric ids and the time format of answers.

export const ErrorBody = z.looseObject({ error: z.string() }).openapi("WriteApiError");
export const err = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });
export const bearerSecurity = [{ bearerAuth: [] }];

/**
 * The logged-in account looking at a public route, or null. A missing, forged, expired or expunged
 * bearer is treated as anonymous (public routes must not fail for a stale token), and so is an
 * unreadable expunge table: anonymous sees the least, so that is the safe side.
 */
export async function viewerOf(c: Context<AppEnv>): Promise<Session | null> {
  const session = await sessionOf(c);
  if (!session) return null;
  return (await expungeCheck(c, session)) === "ok" ? session : null;
}

export { jsonBodyLimit } from "../http/body-limit";

/** A boolean query flag as the legacy clients spell it (true/false, True/False, 1/0, yes/no). */
export const QueryBool = z
  .enum(["true", "false", "True", "False", "TRUE", "FALSE", "1", "0", "yes", "no"])
  .transform((v) => ["true", "1", "yes"].includes(v.toLowerCase()));

/**
 * A random numeric id for a new link or finding: "10" then 13 random digits. Digits only (OONI Run
 * ids are typed by hand and must survive truncation), and below 2^53 so JavaScript clients that
 * parse it as a number keep it exact.
 */
export function newNumericId(): string {
  let digits = "";
  for (let i = 0; i < 13; i++) digits += String(randomInt(10));
  return `10${digits}`;
}

/** Milliseconds of an ISO 8601 time; one given without an offset is UTC. */
export function parseTime(s: string): number {
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(s) ? s : `${s}Z`);
}

/** UTC with six fractional digits and "Z", the format the upstream services answer with. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The way ClickHouse best-effort parsing reads an absolute time whatever the server time zone. */
export function dbTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Serializes writes that read before they write (revision numbers, rule existence checks) within
 * this process, per key. Several origin processes are not serialized by this: see docs/write-apis.md.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.catch(() => undefined).then(fn);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
