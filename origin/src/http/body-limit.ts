import { bodyLimit } from "hono/body-limit";
import { jsonError } from "./errors";

/**
 * A cap on a JSON request body: 413 JSON beyond it, checked against Content-Length before reading
 * and counted while a chunked body streams. Every route that reads a body needs one, or a client can
 * make the origin buffer as much as it likes.
 */
export const jsonBodyLimit = (maxBytes: number) =>
  bodyLimit({ maxSize: maxBytes, onError: (c) => jsonError(c, 413, "request body too large", { limit_bytes: maxBytes }) });
