import { BRIDGE_HOST_HEADER, EDGE_AUTH_HEADER, FORWARDED_FOR_HEADER, REQUEST_ID_HEADER } from "#shared/edge-protocol";
import type { EdgeSettings } from "./env";
import { jsonError } from "./errors";

// Headers that describe one hop, or that only the edge may set: never copied from the client.
const DROP = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "x-real-ip",
  "forwarded",
  FORWARDED_FOR_HEADER,
  EDGE_AUTH_HEADER,
  BRIDGE_HOST_HEADER,
]);

/** The client address as Cloudflare reports it (locally, wrangler sets 127.0.0.1). */
export function clientAddress(req: Request): string {
  return req.headers.get("cf-connecting-ip") ?? "0.0.0.0";
}

export function originHeaders(req: Request, settings: EdgeSettings, requestId: string): Headers {
  const out = new Headers();
  req.headers.forEach((value, name) => {
    if (!DROP.has(name) && !name.startsWith("cf-")) out.set(name, value);
  });
  out.set(FORWARDED_FOR_HEADER, clientAddress(req));
  out.set("x-forwarded-proto", new URL(req.url).protocol.replace(":", ""));
  out.set(BRIDGE_HOST_HEADER, new URL(req.url).host);
  out.set(REQUEST_ID_HEADER, requestId);
  if (settings.edgeSecret) out.set(EDGE_AUTH_HEADER, settings.edgeSecret);
  return out;
}

/** Sends the request to the origin as it came (method, path, query, body), with the edge's headers. */
export async function forwardToOrigin(req: Request, settings: EdgeSettings, requestId: string): Promise<Response> {
  const incoming = new URL(req.url);
  const target = new URL(incoming.pathname + incoming.search, settings.originUrl);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  try {
    const res = await fetch(target, {
      method: req.method,
      headers: originHeaders(req, settings, requestId),
      body: hasBody ? req.body : null,
      redirect: "manual",
      signal: AbortSignal.timeout(settings.originTimeoutMs),
    });
    // Re-wrap so headers are mutable for the layers above (cache markers, CORS).
    return new Response(res.body, res);
  } catch (err) {
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      return jsonError(504, "origin timeout", { request_id: requestId });
    }
    return jsonError(502, "origin unreachable", { request_id: requestId });
  }
}
