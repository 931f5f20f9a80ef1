import { createHash, X509Certificate } from "node:crypto";

// End-entity certificate metadata for obs_web's tls_end_entity_certificate_* columns. Upstream
// renders names with Python cryptography's rfc4514_string(): most-specific RDN first (CN=…,…,C=…),
// joined by ",". Node prints them one RDN a line in certificate order (C=… first): reversed here.

export interface CertificateMeta {
  fingerprint: string;
  subject: string;
  subjectCommonName: string;
  issuer: string;
  issuerCommonName: string;
  sanList: string[];
  notValidBefore: Date;
  notValidAfter: Date;
}

// cryptography names only these attributes; the rest it prints as dotted OIDs.
const OID_OF: Record<string, string> = {
  emailAddress: "1.2.840.113549.1.9.1",
  serialNumber: "2.5.4.5",
  businessCategory: "2.5.4.15",
  postalCode: "2.5.4.17",
  jurisdictionC: "1.3.6.1.4.1.311.60.2.1.3",
  jurisdictionST: "1.3.6.1.4.1.311.60.2.1.2",
  jurisdictionL: "1.3.6.1.4.1.311.60.2.1.1",
  organizationIdentifier: "2.5.4.97",
  title: "2.5.4.12",
  GN: "2.5.4.42",
  SN: "2.5.4.4",
  name: "2.5.4.41",
  initials: "2.5.4.43",
  street: "STREET",
};

function rfc4514(name: string): string {
  return name
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const eq = l.indexOf("=");
      const key = l.slice(0, eq);
      return `${OID_OF[key] ?? key}${l.slice(eq)}`;
    })
    .reverse()
    .join(",");
}

function commonName(name: string): string {
  for (const l of name.split("\n")) if (l.startsWith("CN=")) return l.slice(3).replace(/\\(.)/g, "$1");
  return "";
}

function dnsNames(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(", ")
    .filter((e) => e.startsWith("DNS:"))
    .map((e) => e.slice(4));
}

// Parsing a certificate costs ~0.1 ms, most of a TLS row's cost; servers hand the same
// certificate to every probe, so the metadata is remembered by fingerprint (bounded).
const CACHE_MAX = 2048;
const cache = new Map<string, CertificateMeta>();

/** Throws on anything that is not a DER certificate. */
export function certificateMeta(der: Buffer): CertificateMeta {
  const fingerprint = createHash("sha256").update(der).digest("hex");
  let meta = cache.get(fingerprint);
  if (!meta) {
    meta = parse(der, fingerprint);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(fingerprint, meta);
  }
  return { ...meta, sanList: [...meta.sanList] };
}

function parse(der: Buffer, fingerprint: string): CertificateMeta {
  const cert = new X509Certificate(der);
  // Node leaves subject undefined for an empty name (Signal's server certificates have only SANs).
  const subject = cert.subject ?? "";
  const issuer = cert.issuer ?? "";
  return {
    fingerprint,
    subject: rfc4514(subject),
    subjectCommonName: commonName(subject),
    issuer: rfc4514(issuer),
    issuerCommonName: commonName(issuer),
    sanList: dnsNames(cert.subjectAltName),
    notValidBefore: new Date(Date.parse(cert.validFrom)),
    notValidAfter: new Date(Date.parse(cert.validTo)),
  };
}
