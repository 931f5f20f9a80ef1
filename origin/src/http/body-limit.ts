import type { Context, MiddlewareHandler } from "hono";
import { jsonError } from "./errors";

/**
 * A cap on a request body: `onTooLarge` beyond it, checked against Content-Length before reading
 * and counted while a chunked body streams. Every route that reads a body needs one, or a client can
 * make the origin buffer as much as it likes.
 *
 * Unlike hono's bodyLimit, a streamed body that goes over the cap is left unlocked (the reader is
 * released, not kept or cancelled): the refusal is then answered only after the rest of the upload
 * has been drained (drain-refused.ts), which is what lets it through the edge intact.
 */
export function bodyCap(maxBytes: number, onTooLarge: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const declared = raw.headers.get("content-length");
    if (declared !== null && !raw.headers.has("transfer-encoding")) {
      return Number.parseInt(declared, 10) > maxBytes ? onTooLarge(c) : next();
    }
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
