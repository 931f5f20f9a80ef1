import type { MiddlewareHandler } from "hono";

// A request refused before its body was read (400 asn_0 for a report we will never accept, 413 on
// the declared length, 401/429 before a body route runs) is answered only once the client has
// finished sending. Answering in the middle of an upload and closing is fine for curl, but the edge
// streams bodies over 1 MiB, and workerd loses the whole exchange when the upload it is pumping is
// cut short: the bridge saw a dead connection and answered 502, and a probe retries a 502 forever
// where it would drop the measurement on our 4xx. Reading and discarding costs the bytes the client
// sends anyway; it is bounded in size and time, past which the connection is dropped as before.

export interface DrainLimits {
  maxBytes: number;
  timeoutMs: number;
}

export const DEFAULT_DRAIN: DrainLimits = { maxBytes: 64 * 1024 * 1024, timeoutMs: 30_000 };

/** Reads the rest of an unread body and throws it away; false when a limit was reached first. */
export async function drainUnreadBody(req: Request, limits: DrainLimits): Promise<boolean> {
  // Not `bodyUsed`: a body read partly and then released (body-limit.ts, intake/body.ts) is drained too.
  if (req.body === null || req.body.locked) return true;
  const reader = req.body.getReader();
  let total = 0;
  const deadline = Date.now() + limits.timeoutMs;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        reader.read(),
        new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), left))),
      ]).finally(() => clearTimeout(timer));
      if (next === "timeout") break;
      if (next.done) return true;
      total += next.value.byteLength;
      if (total > limits.maxBytes) break;
    }
  } catch {
    return false; // the client went away
  }
  await reader.cancel().catch(() => undefined);
  return false;
}

export function drainRefusedBodies(limits: DrainLimits = DEFAULT_DRAIN): MiddlewareHandler {
  return async (c, next) => {
    // The request as it came: body limits replace c.req.raw with a buffered copy.
    const raw = c.req.raw;
    await next();
    if (c.res.status >= 400) await drainUnreadBody(raw, limits);
  };
}
