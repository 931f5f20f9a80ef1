import { X509Certificate } from "node:crypto";
import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { dnsObservations, httpObservations, netEvents, tcpObservations, tlsObservations } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";
import { SIGNAL_ROOTS_PEM } from "./signal-roots";
import { assignTargetIds } from "./targets";

// signal → obs_web. Its TLS chains end at Signal's private roots, so tls_is_certificate_valid says
// whether the chain verifies up to one of them at the time of the handshake (upstream's
// TLSCertStore: the chain's signatures, issuers and validity periods; the hostname is not checked).

const ROOTS = SIGNAL_ROOTS_PEM.map((pem) => new X509Certificate(pem));

function validAt(c: X509Certificate, at: Date): boolean {
  return Date.parse(c.validFrom) <= at.getTime() && at.getTime() <= Date.parse(c.validTo);
}

/** Throws on bytes that are not a certificate (upstream fails the measurement then). */
export function signalChainIsValid(chain: readonly Buffer[], at: Date): boolean {
  const certs = chain.map((der) => new X509Certificate(der));
  if (certs.length === 0) return false;
  const root = ROOTS.find((r) => r.issuer === certs[certs.length - 1]!.issuer);
  if (!root || !validAt(root, at)) return false;
  const trusted: X509Certificate[] = [root];
  // From the root end: each certificate must be issued and signed by one already trusted.
  for (const cert of [...certs].reverse()) {
    if (cert.subject === root.issuer) continue; // the root itself, sent along
    const issuer = trusted.find((t) => (t === root || t.ca) && cert.checkIssued(t) && cert.verify(t.publicKey));
    if (!issuer || !validAt(cert, at)) return false;
    trusted.push(cert);
  }
  return true;
}

export function signalObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const tk = ctx.tk;
  const rows = webRowsOf(ctx);
  const web = rows.consume({
    dns: dnsObservations(arr(tk.queries)),
    tcp: tcpObservations(arr(tk.tcp_connect)),
    tls: tlsObservations(arr(tk.tls_handshakes), netEvents(arr(tk.network_events)), { validateChain: signalChainIsValid, startTime: ctx.startTime }),
    http: httpObservations(arr(tk.requests)),
  });
  assignTargetIds("signal", web);
  return webOnly(ctx, rows.rows);
}
