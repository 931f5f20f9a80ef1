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

/**
 * The bridge's legacy test helpers (bridge-config `[legacy_helpers]`), sent with every forwarded
 * request as compact JSON, e.g. `{"tcp-echo":["203.0.113.9"],"http-return-json-headers":["http://203.0.113.9:8080"]}`.
 * The origin fills `{bridge_legacy}` entries of its test-helper lists from it, only when the edge
 * proved itself (EDGE_AUTH_HEADER). Workers cannot accept raw TCP, so these run elsewhere.
 */
export const BRIDGE_LEGACY_HELPERS_HEADER = "x-ooni-bridge-legacy-helpers";
export const LEGACY_HELPER_KINDS = ["tcp-echo", "http-return-json-headers"] as const;
export type LegacyHelperKind = (typeof LEGACY_HELPER_KINDS)[number];
export type BridgeLegacyHelpers = Partial<Record<LegacyHelperKind, string[]>>;
