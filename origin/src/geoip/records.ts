import type { AsnResponse, CountryResponse } from "maxmind";

// DB-IP lite and MaxMind GeoLite2/GeoIP2 share field names but not always which ones are filled:
// some ranges (satellite, anonymous proxies) only carry registered_country. These helpers read
// either shape defensively, since a third-party file is untrusted input.

export const UNKNOWN_CC = "ZZ";
export const UNKNOWN_ASN = 0;

export function countryCodeOf(rec: CountryResponse | null): string {
  if (rec === null || typeof rec !== "object") return UNKNOWN_CC;
  return cleanCc(rec.country?.iso_code) ?? cleanCc(rec.registered_country?.iso_code) ?? UNKNOWN_CC;
}

export function asnOf(rec: AsnResponse | null): number {
  const n: unknown = rec?.autonomous_system_number;
  return typeof n === "number" && Number.isInteger(n) && n > 0 && n <= 0xffffffff ? n : UNKNOWN_ASN;
}

export function asNameOf(rec: AsnResponse | null): string | null {
  const s: unknown = rec?.autonomous_system_organization;
  return typeof s === "string" && s.length > 0 ? s : null;
}

/** OONI spells networks "AS30722"; unknown is "AS0". */
export function formatAsn(asn: number): string {
  return `AS${Number.isInteger(asn) && asn > 0 ? asn : 0}`;
}

function cleanCc(v: unknown): string | null {
  if (typeof v !== "string" || v.length !== 2) return null;
  const a = v.charCodeAt(0);
  const b = v.charCodeAt(1);
  if (isUpper(a) && isUpper(b)) return v;
  if (isUpper(a & ~0x20) && isUpper(b & ~0x20)) return v.toUpperCase();
  return null;
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}
