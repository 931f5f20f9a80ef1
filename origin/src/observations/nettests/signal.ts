import { createHash, X509Certificate } from "node:crypto";
import type { MeasurementObservations } from "../rows";
import type { Dict } from "../values";
import type { TransformOptions } from "./context";
import { messengerObservations } from "./messenger";
import { SIGNAL_ROOTS_PEM } from "./signal-roots";

// signal → obs_web. Its TLS chains end at Signal's private roots, so tls_is_certificate_valid says
// whether the chain verifies up to one of them at the time of the handshake (upstream's
// TLSCertStore: the chain's signatures, issuers and validity periods; the hostname is not checked).

const ROOTS = SIGNAL_ROOTS_PEM.map((pem) => new X509Certificate(pem));

interface ChainCheck {
  /** Every certificate issued and signed by one already trusted, from the root end. */
  linked: boolean;
  /** The validity periods that must all hold (the root's and each checked certificate's), ms. */
  periods: [number, number][];
}

const period = (c: X509Certificate): [number, number] => [Date.parse(c.validFrom), Date.parse(c.validTo)];

/** Throws on bytes that are not a certificate (upstream fails the measurement then). */
function checkChain(chain: readonly Buffer[]): ChainCheck {
  const certs = chain.map((der) => new X509Certificate(der));
  if (certs.length === 0) return { linked: false, periods: [] };
  const root = ROOTS.find((r) => r.issuer === certs[certs.length - 1]!.issuer);
  if (!root) return { linked: false, periods: [] };
  const trusted: X509Certificate[] = [root];
  const periods = [period(root)];
  for (const cert of [...certs].reverse()) {
    if (cert.subject === root.issuer) continue; // the root itself, sent along
    const issuer = trusted.find((t) => (t === root || t.ca) && cert.checkIssued(t) && cert.verify(t.publicKey));
    if (!issuer) return { linked: false, periods };
    periods.push(period(cert));
    trusted.push(cert);
  }
  return { linked: true, periods };
}

// Parsing and verifying dominate the transformation's cost (~1 ms a chain), and Signal serves the
// same few chains to every probe: the structural check is remembered per chain, the times checked
// per handshake.
const CACHE_MAX = 512;
const checked = new Map<string, ChainCheck>();

export function signalChainIsValid(chain: readonly Buffer[], at: Date): boolean {
  const key = createHash("sha256").update(Buffer.concat(chain.flatMap((d) => [Buffer.from(String(d.length)), d]))).digest("hex");
  let c = checked.get(key);
  if (!c) {
    c = checkChain(chain);
    if (checked.size >= CACHE_MAX) checked.delete(checked.keys().next().value!);
    checked.set(key, c);
  }
  const t = at.getTime();
  return c.linked && c.periods.every(([from, to]) => from <= t && t <= to);
}

export function signalObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  return messengerObservations("signal", msm, opts, (startTime) => ({ validateChain: signalChainIsValid, startTime }));
}
