import { isIP } from "node:net";

// OONI failure strings (df-007-errors) and the two layers oohelperd applies: netxlite classifies an
// error into a failure string, then each step maps it to what the legacy Python helper answered.

/** The step an error happened in; the HTTP mapping needs it to tell DNS timeouts apart. */
export type Operation = "resolve" | "connect" | "tls_handshake" | "http_round_trip" | "read";

/** An error that already carries its OONI failure string. */
export class OoniFailure extends Error {
  constructor(
    readonly failure: string,
    readonly operation?: Operation,
    options?: { cause?: unknown },
  ) {
    super(failure, options);
    this.name = "OoniFailure";
  }
}

export const FAILURE = {
  connectionRefused: "connection_refused",
  connectionReset: "connection_reset",
  dnsBogon: "dns_bogon_error",
  dnsNxdomain: "dns_nxdomain_error",
  dnsNoAnswer: "dns_no_answer",
  dnsNonRecoverable: "dns_non_recoverable_failure",
  dnsRefused: "dns_refused_error",
  dnsServerMisbehaving: "dns_server_misbehaving",
  dnsServfail: "dns_servfail_error",
  dnsTemporary: "dns_temporary_failure",
  eof: "eof_error",
  genericTimeout: "generic_timeout_error",
  interrupted: "interrupted",
  sslFailedHandshake: "ssl_failed_handshake",
  sslInvalidCertificate: "ssl_invalid_certificate",
  sslInvalidHostname: "ssl_invalid_hostname",
  sslUnknownAuthority: "ssl_unknown_authority",
} as const;

// errno names as Node reports them → netxlite's syscall classification.
const SYSCALL: Readonly<Record<string, string>> = {
  ECONNREFUSED: FAILURE.connectionRefused,
  ECONNRESET: FAILURE.connectionReset,
  ECONNABORTED: "connection_aborted",
  EHOSTUNREACH: "host_unreachable",
  ENETUNREACH: "network_unreachable",
  ENETDOWN: "network_down",
  ENETRESET: "network_reset",
  ETIMEDOUT: "timed_out",
  EADDRINUSE: "address_in_use",
  EADDRNOTAVAIL: "address_not_available",
  EAFNOSUPPORT: "address_family_not_supported",
  EALREADY: "connection_already_in_progress",
  EISCONN: "already_connected",
  ENOTCONN: "not_connected",
  EACCES: "permission_denied",
  EPERM: "permission_denied",
  EINVAL: "invalid_argument",
  EPROTONOSUPPORT: "protocol_not_supported",
  EPROTOTYPE: "wrong_protocol_type",
  ENOPROTOOPT: "no_protocol_option",
  ENOBUFS: "no_buffer_space",
  EBADF: "bad_file_descriptor",
  EFAULT: "bad_address",
  EINTR: FAILURE.interrupted,
  EAGAIN: "operation_would_block",
  EWOULDBLOCK: "operation_would_block",
  EMSGSIZE: "message_size",
  ENOTSOCK: "not_a_socket",
  EDESTADDRREQ: "destination_address_required",
};

// getaddrinfo / c-ares codes → netxlite's resolver classification.
const RESOLVER: Readonly<Record<string, string>> = {
  ENOTFOUND: FAILURE.dnsNxdomain,
  ENODATA: FAILURE.dnsNoAnswer,
  EAI_NODATA: FAILURE.dnsNoAnswer,
  EAI_AGAIN: FAILURE.dnsTemporary,
  EAI_FAIL: FAILURE.dnsNonRecoverable,
  ESERVFAIL: FAILURE.dnsServfail,
  EREFUSED: FAILURE.dnsRefused,
  EBADRESP: FAILURE.dnsServerMisbehaving,
  EFORMERR: FAILURE.dnsServerMisbehaving,
  ETIMEOUT: FAILURE.genericTimeout,
};

// OpenSSL verification codes. Go splits these into x509.UnknownAuthorityError,
// x509.HostnameError and x509.CertificateInvalidError; netxlite names each kind.
const TLS_UNKNOWN_AUTHORITY = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_UNTRUSTED",
]);
const TLS_INVALID_HOSTNAME = new Set(["ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH", "IP_ADDRESS_MISMATCH"]);
const TLS_INVALID_CERTIFICATE = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
]);

export function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Like netxlite's scrubber: failure strings must not leak the endpoints they were about. */
export function scrub(text: string): string {
  return text.replace(/[0-9A-Fa-f:.]{3,}/g, (token) => {
    if (isIP(token) !== 0) return "[scrubbed]";
    const withPort = /^(.*):(\d+)$/.exec(token);
    if (withPort?.[1] !== undefined && isIP(withPort[1]) === 4) return `[scrubbed]:${withPort[2]}`;
    return token;
  });
}

/** netxlite's generic classifier, for errors of any step. */
export function classifyGeneric(err: unknown): string {
  if (err instanceof OoniFailure) return err.failure;
  const code = errorCode(err);
  const message = errorMessage(err);
  // Node reports a peer's clean close as ECONNRESET with these messages; Go sees io.EOF.
  if (message === "socket hang up" || message.startsWith("Client network socket disconnected before secure TLS")) {
    return FAILURE.eof;
  }
  if (code !== undefined && SYSCALL[code] !== undefined) return SYSCALL[code];
  if (code === "ABORT_ERR" || (err instanceof Error && err.name === "AbortError")) return FAILURE.interrupted;
  if (err instanceof Error && err.name === "TimeoutError") return FAILURE.genericTimeout;
  return `unknown_failure: ${scrub(message)}`;
}

export function classifyResolverError(err: unknown): string {
  if (err instanceof OoniFailure) return err.failure;
  const code = errorCode(err);
  if (code !== undefined && RESOLVER[code] !== undefined) return RESOLVER[code];
  return classifyGeneric(err);
}

export function classifyTlsError(err: unknown): string {
  if (err instanceof OoniFailure) return err.failure;
  const code = errorCode(err);
  if (code !== undefined) {
    if (TLS_INVALID_HOSTNAME.has(code)) return FAILURE.sslInvalidHostname;
    if (TLS_UNKNOWN_AUTHORITY.has(code)) return FAILURE.sslUnknownAuthority;
    if (TLS_INVALID_CERTIFICATE.has(code)) return FAILURE.sslInvalidCertificate;
    // Alerts and protocol errors (wrong version, handshake failure, …). Go would answer
    // "unknown_failure: remote error: tls: …"; we use netxlite's own name for a failed handshake.
    if (code.startsWith("ERR_SSL_")) return FAILURE.sslFailedHandshake;
  }
  return classifyGeneric(err);
}

// ---- oohelperd's legacy mappings (what the old Python helper answered) ----

/** tcp_connect[*].failure */
export function tcpMapFailure(failure: string | null): string | null {
  if (failure === null) return null;
  if (failure === FAILURE.genericTimeout) return failure;
  if (failure === FAILURE.connectionRefused) return "connection_refused_error";
  return "connect_error";
}

const HTTP_DNS_FAILURES = new Set<string>([
  FAILURE.dnsNxdomain,
  FAILURE.dnsNoAnswer,
  FAILURE.dnsNonRecoverable,
  FAILURE.dnsRefused,
  FAILURE.dnsServerMisbehaving,
  FAILURE.dnsTemporary,
]);

/** http_request.failure; `operation` tells a DNS timeout (dns_lookup_error) from any other timeout. */
export function httpMapFailure(failure: string | null, operation?: Operation): string | null {
  if (failure === null) return null;
  if (HTTP_DNS_FAILURES.has(failure)) return "dns_lookup_error";
  if (failure === FAILURE.genericTimeout) return operation === "resolve" ? "dns_lookup_error" : failure;
  if (failure === FAILURE.connectionRefused) return "connection_refused_error";
  return "unknown_error";
}

/** dns.failure; "no answer" is not a failure for the legacy helper, just an empty list. */
export function dnsMapFailure(failure: string | null): string | null {
  if (failure === null) return null;
  if (failure === FAILURE.dnsNxdomain) return "dns_name_error";
  if (failure === FAILURE.dnsNoAnswer) return null;
  if (
    failure === FAILURE.dnsNonRecoverable ||
    failure === FAILURE.dnsRefused ||
    failure === FAILURE.dnsServerMisbehaving ||
    failure === FAILURE.dnsTemporary
  ) {
    return "dns_server_failure";
  }
  return "unknown_error";
}
