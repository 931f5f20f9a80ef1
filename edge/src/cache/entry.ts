// A stored entry is the origin's answer plus x-bridge-* headers saying when it was stored and for how
// long it is fresh or may be served stale. The Cache API keeps it for the whole stale window; the
// Worker decides freshness itself, because the Cache API has no stale-while-revalidate.
import type { StoragePlan } from "./policy";

const STORED_AT = "x-bridge-stored-at";
const TTL = "x-bridge-ttl";
const SWR = "x-bridge-swr";
const SIE = "x-bridge-sie";
const ORIGIN_CC = "x-bridge-origin-cache-control";

export type CacheStatus = "HIT" | "MISS" | "STALE" | "BYPASS";
export const X_CACHE = "x-cache";

/** Headers that describe one transfer, not the answer (the body we hold is already decoded). */
const TRANSFER = ["content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"];

export interface Buffered {
  status: number;
  headers: Headers;
  body: ArrayBuffer;
}

export interface EntryMeta {
  storedAt: number;
  ttl: number;
  swr: number;
  sie: number;
}

/** Headers about one client's request (its quota, its id), not about the answer: never stored. */
function perRequest(name: string): boolean {
  return name.startsWith("x-ratelimit-") || name === "x-request-id" || name === "set-cookie";
}

export function toStored(b: Buffered, plan: StoragePlan, now: number): Response {
  const headers = new Headers(b.headers);
  for (const h of TRANSFER) headers.delete(h);
  for (const name of [...headers.keys()]) if (perRequest(name)) headers.delete(name);
  headers.set(ORIGIN_CC, b.headers.get("cache-control") ?? "");
  headers.set(STORED_AT, String(now));
  headers.set(TTL, String(plan.ttl));
  headers.set(SWR, String(plan.swr));
  headers.set(SIE, String(plan.sie));
  headers.set("cache-control", `public, max-age=${plan.ttl + Math.max(plan.swr, plan.sie)}`);
  return new Response(b.body, { status: b.status, headers });
}

export function readMeta(res: Response): EntryMeta | null {
  const storedAt = Number(res.headers.get(STORED_AT));
  const ttl = Number(res.headers.get(TTL));
  const swr = Number(res.headers.get(SWR));
  const sie = Number(res.headers.get(SIE));
  if (!(storedAt > 0) || !(ttl >= 0) || !(swr >= 0) || !(sie >= 0)) return null;
  return { storedAt, ttl, swr, sie };
}

/** The entry as the client sees it: the origin's own Cache-Control, an Age, and the X-Cache marker. */
export function fromStored(res: Response, meta: EntryMeta, now: number, status: CacheStatus): Response {
  const out = new Response(res.body, res);
  const cc = out.headers.get(ORIGIN_CC);
  for (const h of [STORED_AT, TTL, SWR, SIE, ORIGIN_CC]) out.headers.delete(h);
  if (cc) out.headers.set("cache-control", cc);
  else out.headers.delete("cache-control");
  out.headers.set("age", String(Math.max(0, Math.floor((now - meta.storedAt) / 1000))));
  out.headers.set(X_CACHE, status);
  return out;
}

/** A fresh Response over a buffered answer: every coalesced waiter gets its own. */
export function fromBuffered(b: Buffered, status: CacheStatus): Response {
  const headers = new Headers(b.headers);
  for (const h of TRANSFER) headers.delete(h);
  headers.set(X_CACHE, status);
  return new Response(NULL_BODY_STATUS.has(b.status) ? null : b.body, { status: b.status, headers });
}

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
