import { BRIDGE_HOST_HEADER, BRIDGE_LEGACY_HELPERS_HEADER, EDGE_AUTH_HEADER, FORWARDED_FOR_HEADER, REQUEST_ID_HEADER } from "#shared/edge-protocol";
import { BodyTooLarge, countedUpload, declaredTooLarge, readBounded, readStreamBounded, type Upload } from "./body";
import { jsonError } from "./errors";
import { HOP_AND_ADDRESS_HEADERS } from "./hop-headers";
import { withoutOriginCors } from "./cors";

export interface OriginSettings {
  url: URL;
  timeoutMs: number;
  maxBodyBytes: number;
  edgeSecret: string | null;
  /** BRIDGE_LEGACY_HELPERS_HEADER's value (bridge-config `[legacy_helpers]`), null when none are configured. */
  legacyHelpers?: string | null;
}

// Headers that describe one hop, or that only the edge may set: never copied from the client.
const DROP = new Set<string>([
  ...HOP_AND_ADDRESS_HEADERS,
  FORWARDED_FOR_HEADER,
  EDGE_AUTH_HEADER,
  BRIDGE_HOST_HEADER,
  BRIDGE_LEGACY_HELPERS_HEADER,
]);

/** Request bodies up to this size are read into memory before they are forwarded (see forwardToOrigin). */
const BUFFER_BELOW_BYTES = 1 << 20;

// A cache fill is shared by every client: it must not turn into a 304 or a 206 for one of them.
const CONDITIONAL = ["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range"];

/** The client address as Cloudflare reports it (locally, LOCAL_CLIENT_ADDRESS: client-address.ts). */
export function clientAddress(req: Request): string {
  return req.headers.get("cf-connecting-ip") ?? "0.0.0.0";
}

export function originHeaders(req: Request, edgeSecret: string | null, requestId: string, legacyHelpers: string | null = null): Headers {
  const out = new Headers();
  req.headers.forEach((value, name) => {
    if (!DROP.has(name) && !name.startsWith("cf-")) out.set(name, value);
  });
  const url = new URL(req.url);
  out.set(FORWARDED_FOR_HEADER, clientAddress(req));
  out.set("x-forwarded-proto", url.protocol.replace(":", ""));
  out.set(BRIDGE_HOST_HEADER, url.host);
  out.set(REQUEST_ID_HEADER, requestId);
  if (edgeSecret) out.set(EDGE_AUTH_HEADER, edgeSecret);
  if (legacyHelpers) out.set(BRIDGE_LEGACY_HELPERS_HEADER, legacyHelpers);
  return out;
}

/**
 * The origin's scheme, host and port with the client's path and query. Never `new URL(path, origin)`:
 * a path such as "//attacker.example/x" (or "/\\attacker.example/x") resolves to another host, which
 * would receive the request — and the edge's shared secret.
 */
export function originTarget(incoming: URL, originUrl: URL): URL {
  const target = new URL(originUrl.origin);
  target.pathname = incoming.pathname;
  target.search = incoming.search;
  return target;
}

export interface ForwardOptions {
  /** For cache fills: drop conditional and range headers. */
  unconditional?: boolean;
}

/**
 * Sends the request to the origin as it came (method, path, query, body), with the edge's headers.
 * Bodies over origin.max_body_bytes get a 413; an unreachable origin a 502, a slow one a 504 (JSON).
 */
export async function forwardToOrigin(req: Request, origin: OriginSettings, requestId: string, opts: ForwardOptions = {}): Promise<Response> {
  const target = originTarget(new URL(req.url), origin.url);
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.body !== null;
  if (hasBody && declaredTooLarge(req, origin.maxBodyBytes)) {
    return jsonError(413, "request body too large", { limit_bytes: origin.maxBodyBytes, request_id: requestId });
  }
  let tooLarge = false;
  const headers = originHeaders(req, origin.edgeSecret, requestId, origin.legacyHelpers ?? null);
  if (opts.unconditional) for (const h of CONDITIONAL) headers.delete(h);
  // A streamed body is counted as it goes. Past the limit the upload is aborted: ending the stream
  // with an error alone lets workerd finish the chunked body cleanly, and the origin would take the
  // truncated body for the whole one.
  const abort = new AbortController();
  const onTooLarge = () => {
    tooLarge = true;
    abort.abort();
  };
  let body: BodyInit | null = null;
  let upload: Upload | null = null;
  if (hasBody) {
    const declared = req.headers.get("content-length");
    if (declared === null || Number(declared) <= BUFFER_BELOW_BYTES) {
      // Small bodies (every measurement a probe sends) and bodies without a length (rare: probes
      // always declare one) are read whole, counted against the limit, before the origin is
      // contacted: a failed origin request then leaves nothing of the client's upload pending,
      // and no JS stream feeds the origin request (its pump failing surfaced as uncaught errors).
      try {
        body = await readBounded(req, origin.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) return jsonError(413, "request body too large", { limit_bytes: origin.maxBodyBytes, request_id: requestId });
        return jsonError(400, "could not read the request body", { request_id: requestId });
      }
    } else {
      upload = countedUpload(req.body!, origin.maxBodyBytes, onTooLarge);
      body = upload.stream;
    }
  }
  try {
    const res = await fetch(target, {
      method: req.method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.any([AbortSignal.timeout(origin.timeoutMs), abort.signal]),
    });
    if (tooLarge) {
      await res.body?.cancel();
      return jsonError(413, "request body too large", { limit_bytes: origin.maxBodyBytes, request_id: requestId });
    }
    // The origin refused a streamed body before taking all of it (400 asn_0, 413 on the declared
    // length): its answer is complete, but the exchange dies with the upload it cut short, and a
    // body read later fails ("Network connection lost") — the client would see a broken answer, or
    // this Worker a 502, and a probe retries a 502 forever. So the refusal is read now, while it is
    // there, and forwarded whole; the client's upload is then taken and discarded.
    if (upload && res.status >= 400) {
      const refusal = await readRefusal(res, requestId);
      await upload.drain();
      return refusal;
    }
    // Re-wrap so headers are mutable for the layers above (cache markers, CORS).
    return withoutOriginCors(new Response(res.body, res));
  } catch (err) {
    // Whatever the client has not sent yet is taken first: answering in the middle of its upload
    // can break the connection before the JSON error reaches it.
    if (!tooLarge) await upload?.drain();
    if (tooLarge) return jsonError(413, "request body too large", { limit_bytes: origin.maxBodyBytes, request_id: requestId });
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      return jsonError(504, "origin timeout", { timeout_ms: origin.timeoutMs, request_id: requestId });
    }
    return jsonError(502, "origin unreachable", { request_id: requestId });
  }
}

/** Error answers are small; anything beyond this is not an answer worth forwarding whole. */
const REFUSAL_MAX_BYTES = 64 * 1024;

/**
 * The origin's error answer, read into memory. If its body cannot be read (the connection went with
 * the upload), the status still reaches the client, with a JSON error of our own.
 */
async function readRefusal(res: Response, requestId: string): Promise<Response> {
  try {
    const body = res.body ? await readStreamBounded(res.body, REFUSAL_MAX_BYTES) : new Uint8Array(0);
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    headers.delete("transfer-encoding");
    return new Response(body, { status: res.status, statusText: res.statusText, headers });
  } catch {
    return jsonError(res.status, res.status === 413 ? "request body too large" : "request refused by the origin", { request_id: requestId });
  }
}
