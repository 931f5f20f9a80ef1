import net from "node:net";
import tls, { type TLSSocket } from "node:tls";

// Certificate verification in the order Go's crypto/x509 Certificate.Verify makes its checks, so a
// certificate wrong in more than one way fails with the same reason oohelperd reports:
//   1. the leaf's validity period          (CertificateInvalidError → ssl_invalid_certificate)
//   2. the leaf against the server name    (HostnameError           → ssl_invalid_hostname)
//   3. a chain to a trusted root           (UnknownAuthorityError   → ssl_unknown_authority)
// OpenSSL, under Node's rejectUnauthorized, builds the chain first and looks at the name only once
// the chain is trusted: an untrusted certificate for another name came out as unknown authority,
// which Go never reports for it. So the handshake runs with rejectUnauthorized off and the caller
// asks this function before using the socket; a non-null answer means the connection must be
// dropped (no request is ever written on it).
//
// The name check is Go's, not Node's: Go matches a host name only against the certificate's DNS
// subjectAltNames and never falls back to the subject's Common Name ("certificate relies on legacy
// Common Name field", a HostnameError since Go 1.17); Node's checkServerIdentity does fall back to
// the CN when the certificate has no DNS names. So no DNS name means a wrong name, before Node looks.

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The DNS entries of a certificate's subjectaltname ("DNS:a.example, IP Address:1.2.3.4, …"). */
function dnsAltNames(subjectaltname: string | undefined): string[] {
  return (subjectaltname ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.startsWith("DNS:"));
}

/** Go's VerifyHostname for the cases Node decides differently; undefined: ask Node. */
function goOnlyNameError(serverName: string, leaf: tls.PeerCertificate): Error | undefined {
  if (net.isIP(serverName) !== 0) return undefined; // IPs: both look only at IP subjectAltNames
  if (dnsAltNames(leaf.subjectaltname).length > 0) return undefined;
  return withCode(`certificate is not valid for ${serverName}: it relies on the legacy Common Name field`, "ERR_TLS_CERT_ALTNAME_INVALID");
}

/** null when the peer's certificate passes all three checks for `serverName`; else the first failure, with a code classifyTlsError knows. */
export function verifyLikeGo(socket: TLSSocket, serverName: string, now: number = Date.now()): Error | null {
  const leaf = socket.getPeerCertificate(false);
  if (leaf !== null && leaf !== undefined && Object.keys(leaf).length > 0) {
    const from = Date.parse(leaf.valid_from);
    const to = Date.parse(leaf.valid_to);
    if (Number.isFinite(from) && now < from) return withCode("certificate is not yet valid", "CERT_NOT_YET_VALID");
    if (Number.isFinite(to) && now > to) return withCode("certificate has expired", "CERT_HAS_EXPIRED");
    const nameError = goOnlyNameError(serverName, leaf) ?? tls.checkServerIdentity(serverName, leaf);
    if (nameError !== undefined) return nameError;
  }
  // Chain problems (and a missing certificate) as OpenSSL found them during the handshake.
  if (!socket.authorized) {
    const reason = socket.authorizationError as unknown;
    const code = typeof reason === "string" ? reason : reason instanceof Error ? ((reason as { code?: string }).code ?? reason.message) : "CERT_UNTRUSTED";
    return withCode(`certificate verification failed: ${code}`, code);
  }
  return null;
}
