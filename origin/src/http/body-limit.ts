import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { jsonError } from "./errors";

/**
 * A cap on a request body: `onTooLarge` (a 413) beyond `maxBytes`, checked against Content-Length
 * before reading and counted while a chunked body streams. Every route that reads a body needs one,
 * or a client can make the origin buffer as much as it likes.
 *
 * Why not hono's bodyLimit alone: its first step is `c.req.raw.body`, which makes
 * @hono/node-server build a full web `Request` around the Node request and read the body through
 * a web stream — about a third of a small POST's cost (check-in, docs/probe-services.md). When
 * the length is declared, Node's HTTP parser never delivers more than Content-Length bytes, so
 * the header alone decides and the body is left unread: the route's `c.req.json()` then takes
 * node-server's direct path (one Buffer from the socket, decoded once, JSON.parse on the string).
 * A body without a declared length (chunked) still goes through hono's counting reader, as before.
 */
export function boundedBody(maxBytes: number, onTooLarge: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  const streamed = bodyLimit({ maxSize: maxBytes, onError: onTooLarge });
  return async (c, next) => {
    const method = c.req.method;
    if (method !== "GET" && method !== "HEAD") {
      const declared = c.req.header("content-length");
      if (declared !== undefined && /^\d+$/.test(declared) && c.req.header("transfer-encoding") === undefined) {
        if (Number(declared) > maxBytes) return onTooLarge(c);
        await next();
        return;
      }
    }
    return streamed(c, next);
  };
}

/** A cap on a JSON request body: 413 JSON beyond it (see boundedBody). */
export const jsonBodyLimit = (maxBytes: number) =>
  boundedBody(maxBytes, (c) => jsonError(c, 413, "request body too large", { limit_bytes: maxBytes }));
