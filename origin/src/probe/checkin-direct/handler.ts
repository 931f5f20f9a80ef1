import type { IncomingMessage, ServerResponse } from "node:http";
import { corsAnswer, originMatcher } from "#shared/cors";
import { BRIDGE_HOST_HEADER, BRIDGE_LEGACY_HELPERS_HEADER, REQUEST_ID_HEADER } from "#shared/edge-protocol";
import { clientIpOf, edgeSecretBytes, stripMapped } from "../../http/client-ip";
import { acceptedRequestId } from "../../http/request-id";
import { logRequest } from "../../http/request-log";
import { validationError } from "../../http/validation-error";
import { metrics } from "../../metrics";
import { PathMatcher } from "../../quotas/paths";
import type { Services } from "../../services";
import { answerCheckIn, CheckInRequest } from "../checkin";
import { SMALL_JSON_LIMIT } from "../router";
import { bridgeLegacyOf, bridgeOriginOf, type RequestSite } from "../test-helpers";
import { reply } from "./reply";

// POST /api/v1/check-in answered straight from the Node server, without hono. Every probe checks in
// before every run, and under load the request id, client address, request log, CORS and metrics
// middleware, the web Request/Response adaptation and the router cost the origin more than the
// check-in itself (docs/probe-services.md#check-in-speed). This handler does the same things in the
// same order for the one shape of request that probes send — POST, exactly this path, a JSON body
// with a Content-Length within the cap — and leaves everything else to the hono app untouched:
// chunked or oversized or non-JSON bodies (their 413/415 and the draining that lets a refusal
// through the edge), query strings, other methods and preflights, and every request when check-in
// is metered by the quotas. The answer itself comes from checkin.ts, as the hono route's does.

export const CHECK_IN_PATH = "/api/v1/check-in";

/** application/json, optionally with the UTF-8 charset (what probes and the edge send). */
const JSON_TYPE = /^application\/json(\s*;\s*charset="?utf-8"?)?$/i;
const DIGITS = /^\d+$/;

/** Takes the request and resolves when it is answered, or returns null: the hono app's, then. */
export type DirectHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | null;

export function directCheckIn(services: Services): DirectHandler {
  // Quotas on check-in (QUOTA_EXEMPT_PATHS without it) are the quota middleware's business.
  if (services.quotas && !new PathMatcher(services.config.quotas.exemptPaths).matches(CHECK_IN_PATH)) return () => null;
  const secret = edgeSecretBytes(services.config.edgeSharedSecret);
  const policy = services.config.cors;
  const allowed = originMatcher(policy.allowedOrigins);
  const log = services.log;

  const answer = (req: IncomingMessage, res: ServerResponse, body: Buffer, t0: number) => {
    const h = req.headers;
    const reqId = acceptedRequestId(h[REQUEST_ID_HEADER] as string | undefined);
    const { clientIp, viaEdge } = clientIpOf(stripMapped(req.socket.remoteAddress ?? "0.0.0.0"), (n) => h[n] as string | undefined, secret);
    // A POST is never a preflight: the answer is only the headers to add.
    const cors = corsAnswer(policy, allowed, { method: "POST", origin: h.origin ?? null, requestMethod: null, requestHeaders: null });
    const headers: Record<string, string> = {
      ...(cors.kind === "headers" ? cors.headers : {}),
      "cache-control": "no-store",
      "content-type": "application/json",
      [REQUEST_ID_HEADER]: reqId,
    };
    let status: number;
    let json: string | string[];
    try {
      ({ status, json } = respond(services, body, {
        clientIp,
        bridgeOrigin: bridgeOriginOf(viaEdge, h[BRIDGE_HOST_HEADER] as string | undefined, h["x-forwarded-proto"] as string | undefined),
        baseUrl: services.config.baseUrl,
        bridgeLegacy: bridgeLegacyOf(viaEdge, h[BRIDGE_LEGACY_HELPERS_HEADER] as string | undefined),
      }));
    } catch (err) {
      log.error({ req_id: reqId, err }, "unhandled error");
      status = 500;
      json = JSON.stringify({ error: "internal error", request_id: reqId });
    }
    reply(res, status, json, headers);
    metrics.observeRequest("POST", CHECK_IN_PATH, status, (performance.now() - t0) / 1000);
    logRequest(log, { reqId, method: "POST", path: CHECK_IN_PATH, status, t0, viaEdge });
  };

  return (req, res) => {
    if (req.method !== "POST" || req.url !== CHECK_IN_PATH) return null;
    const h = req.headers;
    const declared = h["content-length"];
    if (declared === undefined || h["transfer-encoding"] !== undefined || !DIGITS.test(declared)) return null;
    const length = Number(declared);
    if (length === 0 || length > SMALL_JSON_LIMIT) return null;
    if (h["content-type"] === undefined || !JSON_TYPE.test(h["content-type"])) return null;
    const t0 = performance.now();
    return readBody(req)
      .then((body) => {
        // The client went away mid-body: nobody to answer.
        if (body === null) return void res.destroy();
        answer(req, res, body, t0);
      })
      .catch((err: unknown) => {
        // Outside respond()'s own 500 (the answer half written, say): never an unhandled rejection.
        log.error({ err }, "unhandled error");
        res.destroy();
      });
  };
}

// As @hono/node-server decodes a body: invalid bytes replaced, a leading byte-order mark dropped.
const utf8 = new TextDecoder();

/** The status and JSON of the answer (in pieces), with hono's wording for a body that is not JSON. */
function respond(services: Services, body: Buffer, site: RequestSite): { status: number; json: string | string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(body));
  } catch {
    return { status: 400, json: '{"error":"Malformed JSON in request body"}' };
  }
  const valid = CheckInRequest.safeParse(parsed);
  if (!valid.success) {
    const { error, extra } = validationError(valid.error.issues, "json");
    return { status: 400, json: JSON.stringify({ error, ...extra }) };
  }
  const outcome = answerCheckIn(services, valid.data, site);
  if (!outcome.ok) return { status: outcome.status, json: JSON.stringify({ error: outcome.error, ...outcome.extra }) };
  return { status: 200, json: outcome.chunks };
}

/** The whole body (Node's parser stops at Content-Length), or null if the request was aborted. */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    // After "end" these change nothing (a promise settles once).
    req.on("error", () => resolve(null));
    req.on("close", () => resolve(null));
  });
}
