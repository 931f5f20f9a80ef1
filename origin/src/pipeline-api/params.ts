import { z } from "@hono/zod-openapi";
import { isAsn, parseInstant, asnNumber } from "../stats/params";

// Query parameters of the observation and analysis API (upstream: ooni/backend oonimeasurements
// routers/data). Lists are repeated parameters (`?probe_cc=IT&probe_cc=IR`), as FastAPI reads
// them; a comma-separated value is accepted too.

const one = (re: RegExp, what: string) => z.string().regex(re, `must be ${what}`);

export const listOf = (item: z.ZodString, description: string) =>
  z
    .union([item, z.array(item)])
    .optional()
    .openapi({ description: `${description}; repeat the parameter for several` });

export function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return [...new Set((Array.isArray(v) ? v : [v]).flatMap((x) => x.split(",")).filter((x) => x !== ""))];
}

export const ccItem = one(/^[A-Z]{2}(,[A-Z]{2})*$/, "two capital letters");
export const asnItem = z.string().refine((v) => v.split(",").every(isAsn), "must be an ASN (AS1234 or 1234)");
export const plainItem = z.string().max(2000);

export const probeAsnParam = z
  .string()
  .refine(isAsn, "must be an ASN (AS1234 or 1234)")
  .optional()
  .openapi({ description: "Probe ASN, AS1234 or 1234", example: "AS30722" });
export const probeCcParam = one(/^[A-Z]{2}$/, "two capital letters").optional().openapi({ description: "Probe country code", example: "IT" });

export const since = (description: string) =>
  z
    .string()
    .refine((v) => parseInstant(v) !== null, "must be a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])")
    .optional()
    .openapi({ description, example: "2024-01-01" });

export const TIME_GRAINS = ["hour", "day", "week", "month", "year", "auto"] as const;

/** toStartOf…() for a time grain; "auto" is a day, as upstream. */
export function startOf(grain: (typeof TIME_GRAINS)[number], column = "measurement_start_time"): string {
  const fn = { hour: "toStartOfHour", day: "toStartOfDay", week: "toStartOfWeek", month: "toStartOfMonth", year: "toStartOfYear", auto: "toStartOfDay" }[grain];
  return `${fn}(${column})`;
}

/** A DateTime64(3) query parameter. */
export function chInstant(d: Date): string {
  return d.toISOString().slice(0, 23).replace("T", " ");
}

export function parsedInstant(v: string | undefined): Date | null {
  return v ? parseInstant(v) : null;
}

/** Midnight UTC `days` ago (upstream's default windows). */
export function utcDay(daysAgo: number, now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - daysAgo));
}

/** Python's naive datetime as pydantic writes it: "2024-01-01T10:00:00", fraction only when there is one. */
export function isoNaive(v: unknown): string | null {
  if (typeof v !== "string" || v === "") return null;
  const s = v.replace(" ", "T");
  return s.replace(/\.0+$/, "").replace(/(\.\d*?)0+$/, "$1");
}

export const intParam = (description: string, example: string) =>
  z.string().regex(/^\d{1,9}$/, "must be a non-negative integer").optional().openapi({ description, example });

export { asnNumber };
