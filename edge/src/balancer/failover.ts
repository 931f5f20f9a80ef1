// Test-helper requests: pick the helper by HRW over the client's network, and when it fails (no
// connection, a reset, a timeout, a 5xx, a body cut short) send the same buffered request to the
// next-ranked helper, within the probe's time budget. The answer names the helper that gave it.
import { BodyTooLarge, readBounded } from "../body";
import type { EdgeEnv, Runtime } from "../env";
import { jsonError } from "../errors";
import { HOP_AND_ADDRESS_HEADERS } from "../hop-headers";
import { clientAddress } from "../forward";
import type { FailureKind } from "../state/types";
import { clientKey } from "./client-key";
import { pickBest } from "./hrw";

export const HELPER_HEADER = "x-ooni-helper";
const ATTEMPTS_HEADER = "x-ooni-helper-attempts";

// Hop-by-hop, edge-only, and identifying headers: helpers learn nothing about the client beyond
// what the probe put in its request (oohelperd does not use the client address).
const DROP = new Set<string>([
  ...HOP_AND_ADDRESS_HEADERS,
  "content-length",
  "cookie",
  "authorization",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-ooni-edge-auth",
]);
const RESPONSE_DROP = ["content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"];
/** An attempt needs at least this much of the budget to be worth starting. */
const MIN_ATTEMPT_MS = 250;

const key = new Uint32Array(2);

function helperHeaders(req: Request): Headers {
  const out = new Headers();
  req.headers.forEach((value, name) => {
    if (!DROP.has(name) && !name.startsWith("cf-")) out.set(name, value);
  });
  return out;
}

interface AttemptFailure {
  helper: string;
  kind: FailureKind;
  detail: string;
}

type Attempt = { ok: true; status: number; headers: Headers; body: ArrayBuffer } | { ok: false; failure: AttemptFailure };

async function attempt(url: string, id: string, req: Request, headers: Headers, body: ArrayBuffer | null, timeoutMs: number): Promise<Attempt> {
  const fail = (kind: FailureKind, detail: string): Attempt => ({ ok: false, failure: { helper: id, kind, detail } });
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { method: req.method, headers, body, redirect: "manual", signal });
  } catch (err) {
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") return fail("timeout", `no answer within ${timeoutMs} ms`);
    return fail("connect", String((err as Error).message).slice(0, 200));
  }
  if (res.status >= 500) {
    await res.body?.cancel().catch(() => undefined);
    // 503 is oohelperd shedding load (too many requests in flight): try the next helper, but do
    // not count it toward taking this one out — that would pile its clients onto the others.
    return fail(res.status === 503 ? "busy" : "status", `status ${res.status}`);
  }
  // The body too is read before answering: a helper dying half-way through is retried like any other.
  try {
    return { ok: true, status: res.status, headers: res.headers, body: await res.arrayBuffer() };
  } catch (err) {
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") return fail("timeout", `answer not complete within ${timeoutMs} ms`);
    return fail("body", `answer cut short: ${String((err as Error).message).slice(0, 160)}`);
  }
}

export async function serveHelperRequest(req: Request, rt: Runtime, env: EdgeEnv, ctx: ExecutionContext, requestId: string): Promise<Response> {
  const cfg = rt.config.helpers;
  const pool = rt.pool;
  const started = Date.now();
  if (pool.size === 0) return jsonError(503, "no test helpers configured", { request_id: requestId });

  let body: ArrayBuffer | null = null;
  if (req.method !== "GET" && req.method !== "HEAD") {
    try {
      body = await readBounded(req, cfg.max_body_bytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) return jsonError(413, "request body too large", { limit_bytes: cfg.max_body_bytes, request_id: requestId });
      return jsonError(400, "could not read the request body", { request_id: requestId });
    }
  }

  await rt.state.ready(env, ctx);
  clientKey(clientAddress(req), cfg.client_prefix_v4, cfg.client_prefix_v6, key);
  const k0 = key[0]!;
  const k1 = key[1]!;
  let usable = rt.state.usable;

  const incoming = new URL(req.url);
  const pathAndQuery = incoming.pathname + incoming.search;
  const headers = helperHeaders(req);
  const tried = new Uint8Array(pool.size);
  const deadline = started + cfg.budget_ms;
  const failures: AttemptFailure[] = [];

  for (let n = 0; n < cfg.max_attempts; n++) {
    let i = pickBest(pool, k0, k1, usable, tried);
    if (i < 0 && usable !== pool.weighted) {
      // Every helper believed up is down or has failed this request: a helper marked down may have
      // recovered since, and trying it beats refusing the probe.
      usable = pool.weighted;
      i = pickBest(pool, k0, k1, usable, tried);
    }
    if (i < 0) break;
    const remaining = deadline - Date.now();
    if (remaining < MIN_ATTEMPT_MS) break;
    tried[i] = 1;
    const id = pool.ids[i]!;
    const result = await attempt(pool.urls[i]! + pathAndQuery, id, req, headers, body, Math.min(cfg.attempt_timeout_ms, remaining));
    if (result.ok) {
      rt.state.countServed(i);
      const out = new Headers(result.headers);
      for (const h of RESPONSE_DROP) out.delete(h);
      out.set(HELPER_HEADER, id);
      out.set(ATTEMPTS_HEADER, String(n + 1));
      const nullBody = req.method === "HEAD" || result.status === 204 || result.status === 304;
      return new Response(nullBody ? null : result.body, { status: result.status, headers: out });
    }
    failures.push(result.failure);
    if (result.failure.kind !== "busy") rt.state.reportFailure(env, ctx, { at: Date.now(), source: "passive", ...result.failure });
  }

  const timedOut = failures.length > 0 && failures[failures.length - 1]!.kind === "timeout";
  return jsonError(timedOut ? 504 : 502, failures.length ? "no test helper answered" : "no test helper available", {
    request_id: requestId,
    attempts: failures.map((f) => ({ helper: f.helper, error: f.kind, detail: f.detail })),
  });
}
