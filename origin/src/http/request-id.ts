import type { MiddlewareHandler } from "hono";
import { REQUEST_ID_HEADER } from "#shared/edge-protocol";

// A request id the edge may have chosen already, so one id follows a request through both logs.
// One that is too long or has other characters than letters, digits, _, - and = is replaced (it
// ends up in logs and in an answer header). The rule of hono's requestId middleware, which this
// replaced so that the direct check-in handler (probe/checkin-direct/) can apply the same one.

const MAX_LENGTH = 64;
const UNSAFE = /[^\w\-=]/;

export function acceptedRequestId(given: string | undefined): string {
  if (!given || given.length > MAX_LENGTH || UNSAFE.test(given)) return crypto.randomUUID();
  return given;
}

export function requestIdMiddleware(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const id = acceptedRequestId(c.req.header(REQUEST_ID_HEADER));
    c.set("requestId", id);
    c.header(REQUEST_ID_HEADER, id);
    await next();
  };
}
