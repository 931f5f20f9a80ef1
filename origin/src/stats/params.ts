import { z } from "@hono/zod-openapi";

// Query-parameter schemas shared by the Explorer read API. Each validates the whole string so a
// failure names the parameter itself (the router's 400 JSON); conversion to typed values happens
// in the helpers below, which only ever see strings these schemas accepted.

const DATE_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** "2024-01-31" (or "2024-1-31"), "2024-01-31T10:30", "2024-01-31 10:30:00.5Z", "…+02:00"; no zone means UTC. */
export function parseInstant(raw: string): Date | null {
  // Month and day may have one digit ("2021-7-9"), as the legacy API's date parser accepted and
  // its own tests and scripts written against it use; they are padded before the strict check.
  const s = raw.replace(/^(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[T ])/, (_, y: string, m: string, d: string) => `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`);
  if (!DATE_RE.test(s)) return null;
  let iso = s.replace(" ", "T");
  if (iso.length === 10) iso += "T00:00:00";
  if (/T\d{2}:\d{2}$/.test(iso)) iso += ":00";
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += "Z";
  iso = iso.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  // A zone offset can carry 9999-12-31 past year 9999; ClickHouse cannot parse the resulting
  // "+010000-…" DateTime parameter and the query failed with a 500.
  if (d.getUTCFullYear() > 9999) return null;
  // Reject calendar overflow such as 2024-02-30, which Date would silently roll over.
  const [y, m, day] = s.slice(0, 10).split("-").map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, m - 1, day));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== day) return null;
  return d;
}

export const dateParam = (description: string) =>
  z
    .string()
    .refine((v) => v === "" || parseInstant(v) !== null, {
      message: "must be a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM], UTC when no zone)",
    })
    .optional()
    .openapi({ description, example: "2024-01-01" });

export const CC_RE = /^[A-Z]{2}$/;
const ASN_RE = /^(?:AS)?\d{1,10}$/;
const MAX_UINT32 = 4294967295;

export function splitList(v: string | undefined): string[] {
  if (!v) return [];
  return [...new Set(v.split(",").filter((x) => x !== ""))].sort();
}

export function asnNumber(v: string): number {
  return Number(v.startsWith("AS") ? v.slice(2) : v);
}

const listOf = (item: (x: string) => boolean, what: string) => (v: string) =>
  v === "" || (!/(^,|,,|,$)/.test(v) && v.split(",").every(item)) || `must be ${what}, comma separated`;

function refineWith(check: (v: string) => true | string) {
  return (v: string, ctx: z.RefinementCtx) => {
    const r = check(v);
    if (r !== true) ctx.addIssue({ code: "custom", message: r });
  };
}

export const isAsn = (x: string) => ASN_RE.test(x) && asnNumber(x) <= MAX_UINT32;

export const probeCcRequired = z
  .string()
  .regex(CC_RE, { message: "must be a two-letter uppercase country code" })
  .openapi({ description: "Two-letter country code (ISO 3166-1 alpha-2, uppercase)", example: "IT" });

export const probeAsnRequired = z
  .string()
  .refine(isAsn, { message: "must be an ASN such as AS30722 or 30722" })
  .openapi({ description: "Autonomous system number, with or without the AS prefix", example: "AS30722" });

export const ccListParam = z
  .string()
  .superRefine(refineWith(listOf((x) => CC_RE.test(x), "two-letter uppercase country codes")))
  .optional()
  .openapi({ description: "Country codes, comma separated", example: "IT,DE" });

export const asnListParam = z
  .string()
  .superRefine(refineWith(listOf(isAsn, "ASNs such as AS30722 or 30722")))
  .optional()
  .openapi({ description: "Autonomous system numbers (ASxxx or xxx), comma separated", example: "AS30722,3269" });

export const testNameListParam = z
  .string()
  .superRefine(refineWith(listOf((x) => /^[a-z0-9_]+$/.test(x), "test names such as web_connectivity")))
  .optional()
  .openapi({ description: "Test names, comma separated", example: "web_connectivity" });

export const categoryListParam = z
  .string()
  .superRefine(refineWith(listOf((x) => /^[A-Z]{2,10}$/.test(x), "Citizen Lab category codes such as NEWS")))
  .optional()
  .openapi({ description: "Citizen Lab category codes, comma separated", example: "NEWS,HUMR" });

export const runLinkListParam = z
  .string()
  .superRefine(refineWith(listOf((x) => /^\d{1,20}$/.test(x) && BigInt(x) < 2n ** 64n, "OONI Run link ids (integers)")))
  .optional()
  .openapi({ description: "OONI Run link ids, comma separated", example: "10001" });

// <domain|ip>[:port], the forms the fastpath stores in `domain`.
const DOMAIN_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9][A-Za-z0-9_-]{0,61}[A-Za-z]$/;
const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6_RE = /^\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?$/;

export function isDomain(x: string): boolean {
  if (DOMAIN_RE.test(x) || IPV4_RE.test(x) || IPV6_RE.test(x)) return true;
  const m = /^(.*):(\d{1,5})$/.exec(x);
  return !!m && (DOMAIN_RE.test(m[1]!) || IPV4_RE.test(m[1]!) || /^\[[0-9A-Fa-f:.]+\]$/.test(m[1]!));
}

export const domainListParam = z
  .string()
  .superRefine(refineWith(listOf(isDomain, "domain names or IP addresses")))
  .optional()
  .openapi({ description: "Domains (or IP addresses, optionally with :port), comma separated", example: "twitter.com" });

export const domainRequired = z
  .string()
  .refine(isDomain, { message: "must be a domain name" })
  .openapi({ description: "Domain name", example: "twitter.com" });

/** A URL or other measurement input: printable, no control characters. */
export const inputParam = z
  .string()
  .max(2048, { message: "must be at most 2048 characters" })
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), { message: "must not contain control characters" });

export const intParam = (description: string, min: number, max: number, example: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, { message: "must be a non-negative integer" })
    .refine((v) => Number(v) >= min && Number(v) <= max, { message: `must be between ${min} and ${max}` })
    .optional()
    .openapi({ description, example: String(example) });

/** "YYYY-MM-DD HH:MM:SS" in UTC, the form DateTime('UTC') parameters take. */
export function chDateTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace("T", " ");
}
