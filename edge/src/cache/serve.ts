// The edge cache for Explorer's GETs: fresh entries are HITs; past freshness but inside
// stale-while-revalidate they are served as STALE while one background request refreshes them;
// when the origin fails (5xx, unreachable, timeout) an entry inside stale-if-error is served as
// STALE instead of the error. Concurrent misses for one key in an isolate share one origin request.
import type { CacheRouteConfig } from "../../../bridge-config/schema";
import type { EdgeEnv, Runtime } from "../env";
import { forwardToOrigin } from "../forward";
import { fromBuffered, fromStored, readMeta, toStored, X_CACHE, type Buffered } from "./entry";
import { baseKey, cacheKey } from "./key";
import { storagePlan } from "./policy";

/** Result of one origin request, shared by every waiter: a buffered answer, or null = fetch your own. */
type Fill = Buffered | null;

// Per isolate: key → the origin request in flight for it.
const inflight = new Map<string, Promise<Fill>>();

/** Requests the cache must not answer: they carry credentials or ask for part of an answer. */
export function mustBypass(req: Request): boolean {
  return req.method !== "GET" || req.headers.has("authorization") || req.headers.has("cookie") || req.headers.has("range");
}

function markBypass(res: Response): Response {
  res.headers.set(X_CACHE, "BYPASS");
  return res;
}

/** Reads the origin's answer into memory when it is small enough to share and store. */
async function buffer(res: Response, limit: number): Promise<Buffered | Response> {
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return res;
  if (res.body === null) return { status: res.status, headers: res.headers, body: new ArrayBuffer(0) };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total > limit) {
      // Too big to keep: hand the client what was read followed by the rest, unbuffered.
      const rest = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(c);
        },
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      });
      return new Response(rest, res);
    }
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.byteLength;
  }
  return { status: res.status, headers: res.headers, body: body.buffer };
}

/**
 * One origin request for `key`, stored when its Cache-Control allows. The first caller (the leader)
 * gets a streaming Response when the answer is too big to buffer; followers then get null.
 */
async function fill(req: Request, rt: Runtime, route: CacheRouteConfig, key: string, requestId: string): Promise<Buffered | Response> {
  const res = await forwardToOrigin(req, rt.origin, requestId, { unconditional: true });
  const got = await buffer(res, rt.config.cache.max_object_bytes);
  if (got instanceof Response) return got;
  const plan = storagePlan(res, route);
  if (plan) {
    try {
      await caches.default.put(key, toStored(got, plan, Date.now()));
    } catch (err) {
      // Serving the answer matters more than keeping it.
      console.error(JSON.stringify({ event: "cache_put_failed", key, error: String(err) }));
    }
  }
  return got;
}

function coalesced(req: Request, rt: Runtime, route: CacheRouteConfig, key: string, requestId: string): { leader: Promise<Buffered | Response> | null; shared: Promise<Fill> } {
  const existing = inflight.get(key);
  if (existing) return { leader: null, shared: existing };
  const leader = fill(req, rt, route, key, requestId);
  // A background refresh never awaits the leader itself; its failure is seen through `shared`.
  leader.catch(() => undefined);
  const shared = leader.then(
    (r) => (r instanceof Response ? null : r),
    () => null,
  );
  inflight.set(key, shared);
  void shared.finally(() => {
    if (inflight.get(key) === shared) inflight.delete(key);
  });
  return { leader, shared };
}

async function fromOrigin(req: Request, rt: Runtime, route: CacheRouteConfig, key: string, requestId: string): Promise<{ res: Response; failed: boolean }> {
  const { leader, shared } = coalesced(req, rt, route, key, requestId);
  if (leader) {
    const r = await leader;
    if (r instanceof Response) return { res: r, failed: r.status >= 500 };
    return { res: fromBuffered(r, "MISS"), failed: r.status >= 500 };
  }
  // The leader runs in another request; should that request be cancelled before its fill settles,
  // waiting on it must not hang this one.
  let timer: ReturnType<typeof setTimeout> | null = null;
  const r = await Promise.race([shared, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), rt.origin.timeoutMs + 1000)))]);
  if (timer !== null) clearTimeout(timer);
  if (r === null) {
    // The leader's answer could not be shared (too big, its request failed, or it took too long): ask on our own.
    const own = await forwardToOrigin(req, rt.origin, requestId, { unconditional: true });
    return { res: own, failed: own.status >= 500 };
  }
  return { res: fromBuffered(r, "MISS"), failed: r.status >= 500 };
}

export async function serveCached(
  req: Request,
  rt: Runtime,
  route: CacheRouteConfig,
  env: EdgeEnv,
  ctx: ExecutionContext,
  requestId: string,
): Promise<Response> {
  const state = rt.state;
  if (mustBypass(req)) {
    state.countCache("bypass");
    return markBypass(await forwardToOrigin(req, rt.origin, requestId));
  }
  // Without the shared view this isolate does not know the route's generation, and a purged entry
  // must never come back: go to the origin, store nothing.
  const snap = await state.ready(env, ctx);
  if (!snap) {
    state.countCache("bypass");
    return markBypass(await forwardToOrigin(req, rt.origin, requestId));
  }
  const url = new URL(req.url);
  const base = baseKey(rt.cache, url);
  const key = cacheKey(rt.cache, base, snap.generations[route.prefix] ?? 0, route.per_host ? url.host : undefined);
  const now = Date.now();

  let stale: Response | null = null;
  const cached = await caches.default.match(key);
  if (cached) {
    const meta = readMeta(cached);
    const purgedAt = snap.purges[base];
    if (!meta || (purgedAt !== undefined && meta.storedAt <= purgedAt)) {
      await cached.body?.cancel();
      ctx.waitUntil(caches.default.delete(key));
    } else {
      const age = now - meta.storedAt;
      const freshUntil = meta.ttl * 1000;
      if (age < freshUntil) {
        state.countCache("hit");
        return fromStored(cached, meta, now, "HIT");
      }
      if (age < freshUntil + meta.swr * 1000) {
        state.countCache("stale");
        ctx.waitUntil(coalesced(req, rt, route, key, requestId).shared);
        return fromStored(cached, meta, now, "STALE");
      }
      // Kept in hand in case the origin fails now (stale-if-error).
      if (age < freshUntil + meta.sie * 1000) stale = cached;
      else await cached.body?.cancel();
    }
  }

  const { res, failed } = await fromOrigin(req, rt, route, key, requestId);
  if (failed && stale) {
    await res.body?.cancel();
    state.countCache("stale");
    const out = fromStored(stale, readMeta(stale)!, Date.now(), "STALE");
    out.headers.set("x-cache-stale-reason", `origin answered ${res.status}`);
    return out;
  }
  if (stale) await stale.body?.cancel();
  state.countCache("miss");
  res.headers.set(X_CACHE, "MISS");
  return res;
}
