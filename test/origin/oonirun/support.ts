import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { loginLinkFrom } from "../auth/support";

// Helpers for the write-API tests (OONI Run, findings, feedback, prioritization): requests through
// any transport (a real origin over HTTP, or app.request in process), and logging in the way a
// person does — register, open the emailed link from the outbox, exchange it for a bearer.

export type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface CallOptions {
  bearer?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call(f: Fetcher, method: string, p: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.bearer !== undefined) headers.authorization = `Bearer ${o.bearer}`;
  if (o.body !== undefined) headers["content-type"] ??= "application/json";
  const res = await f(p, {
    method,
    headers,
    body: o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON: tests look at text */
  }
  return { status: res.status, headers: res.headers, text, json };
}

function emlFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".eml")).sort();
  } catch {
    return [];
  }
}

/** Logs `email` in through the outbox transport and returns the session bearer. */
export async function loginViaOutbox(f: Fetcher, outboxDir: string, email: string): Promise<string> {
  const before = new Set(emlFiles(outboxDir));
  const r = await call(f, "POST", "/api/v1/user_register", { body: { email_address: email, redirect_to: "https://run.ooni.org/" } });
  expect(r.status, r.text).toBe(200);
  const added = emlFiles(outboxDir).filter((x) => !before.has(x));
  expect(added).toHaveLength(1);
  const token = loginLinkFrom(readFileSync(path.join(outboxDir, added[0]!), "utf8")).searchParams.get("token")!;
  const l = await call(f, "GET", `/api/v1/user_login?k=${encodeURIComponent(token)}`);
  expect(l.status, l.text).toBe(200);
  return l.json.bearer as string;
}

export const OWNER = "owner@example.org";
export const OTHER = "someone.else@example.org";
export const ADMIN = "admin@example.org";

export interface Bearers {
  owner: string;
  other: string;
  admin: string;
}

/** Three people: a user who will own things, another user, and an admin (ADMIN_EMAILS). */
export async function loginAll(f: Fetcher, outboxDir: string): Promise<Bearers> {
  return {
    owner: await loginViaOutbox(f, outboxDir, OWNER),
    other: await loginViaOutbox(f, outboxDir, OTHER),
    admin: await loginViaOutbox(f, outboxDir, ADMIN),
  };
}

/** The account id inside a bearer (the tests never need to verify it). */
export function accountIdOf(bearer: string): string {
  return (JSON.parse(Buffer.from(bearer.split(".")[1]!, "base64url").toString("utf8")) as { account_id: string }).account_id;
}
