import type { Context, MiddlewareHandler } from "hono";
import { jsonError } from "./errors";

/**
 * A cap on a request body: `onTooLarge` beyond it, checked against Content-Length before reading
 * and counted while a chunked body streams. Every route that reads a body needs one, or a client can
 * make the origin buffer as much as it likes.
 *
 * A declared length decides from the header alone and leaves the body unread: touching
 * `c.req.raw.body` makes @hono/node-server build a full web `Request` and read the body through a
 * web stream — about a third of a small POST's cost (check-in, docs/probe-services.md) — while
 * Node's HTTP parser never delivers more than Content-Length bytes anyway, so the route's
 * `c.req.json()` can take node-server's direct path (one Buffer from the socket).
 *
 * Unlike hono's bodyLimit, a streamed body that goes over the cap is left unlocked (the reader is
 * released, not kept or cancelled): the refusal is then answered only after the rest of the upload
 * has been drained (drain-refused.ts), which is what lets it through the edge intact.
 */
export function bodyCap(maxBytes: number, onTooLarge: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (!/^\d+$/.test(declared)) return onTooLarge(c);
      return Number(declared) > maxBytes ? onTooLarge(c) : next();
    }
    const raw = c.req.raw;
    if (!raw.body) return next();
    const reader = raw.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        reader.releaseLock();
        return onTooLarge(c);
      }
      chunks.push(value);
    }
    c.req.raw = new Request(raw, { body: Buffer.concat(chunks, size) });
    return next();
  };
}

/** bodyCap answering 413 JSON: the cap on every JSON route. */
export const jsonBodyLimit = (maxBytes: number) =>
  bodyCap(maxBytes, (c) => jsonError(c, 413, "request body too large", { limit_bytes: maxBytes }));
