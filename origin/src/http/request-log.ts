import type { Logger } from "../logger";

// One log line per answered request, the same fields whoever answered it (the hono app, app.ts,
// or a direct handler on the Node server, probe/checkin-direct/).

export interface RequestLogLine {
  reqId: string;
  method: string;
  /** Already redacted where a route carries personal data (auth/redact.ts). */
  path: string;
  status: number;
  /** performance.now() when the request arrived. */
  t0: number;
  viaEdge: boolean;
}

export function logRequest(log: Logger, r: RequestLogLine): void {
  log.info(
    {
      req_id: r.reqId,
      method: r.method,
      path: r.path,
      status: r.status,
      ms: Math.round((performance.now() - r.t0) * 10) / 10,
      via_edge: r.viaEdge,
    },
    "request",
  );
}
