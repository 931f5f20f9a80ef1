// How the edge and the origin talk. The origin believes X-Forwarded-For only when the edge proves
// itself with the shared secret in EDGE_AUTH_HEADER; anything else is a client and gets its socket
// address.
export const EDGE_AUTH_HEADER = "x-ooni-edge-auth";
export const FORWARDED_FOR_HEADER = "x-forwarded-for";
/** Which bridge hostname the probe used, for logs and metrics only (never for routing). */
export const BRIDGE_HOST_HEADER = "x-ooni-bridge-host";
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * A client's request id is used (and echoed) only when it is a plain token of at most 64 characters
 * — the rule the origin applies too (hono's requestId), so one id follows a request through both
 * logs and nothing a client chooses is reflected verbatim.
 */
export const PLAIN_REQUEST_ID = /^[\w=-]{1,64}$/;
