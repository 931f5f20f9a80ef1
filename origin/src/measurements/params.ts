import { z } from "@hono/zod-openapi";
import { UID_RE } from "../intake/measurement-uid";

// Identifiers accepted by the measurement read API. Both are checked against their full shape
// before they reach a query, a spool path or a log line: anything else (e.g. "../" or a NUL) is
// a 400 naming the parameter.

export const measurementUidParam = z
  .string()
  .regex(UID_RE, { message: "must be a measurement_uid such as 20210208220710.181572_MA_ndt_7888edc7748936bf" })
  .openapi({ description: "Measurement id", example: "20210208220710.181572_MA_ndt_7888edc7748936bf" });

/**
 * measurement_meta's uid: production answers any string with the "not found" shape rather than an
 * error (Explorer then shows "measurement not found"; legacy links carry older uid layouts), so the
 * lookup only bounds it. It reaches nothing but a parameterized query (the spool parses it itself).
 */
export const lookupUidParam = z
  .string()
  .min(1)
  .max(200, { message: "must be at most 200 characters" })
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), { message: "must not contain control characters" })
  .openapi({ description: "Measurement id (an unknown or malformed one answers as not found)", example: "20210208220710.181572_MA_ndt_7888edc7748936bf" });

// Current report ids are `{time}_{test}_{CC}_{ASN}_n{collector}_{random}`; older probes used
// other layouts of the same characters (probe-contract.md), so only the alphabet and length are fixed.
export const REPORT_ID_RE = /^[A-Za-z0-9_]{15,100}$/;

export const reportIdParam = z
  .string()
  .regex(REPORT_ID_RE, { message: "must be a report_id: 15-100 letters, digits and _" })
  .openapi({ description: "Report id", example: "20210208T162755Z_ndt_DZ_36947_n1_8swgXi7xNuRUyO9a" });

/** A measurement input (usually a URL): matched exactly; printable, bounded. */
export const inputParam = z
  .string()
  .max(2048, { message: "must be at most 2048 characters" })
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), { message: "must not contain control characters" })
  .openapi({ description: "Measurement input (e.g. a URL), matched exactly", example: "https://twitter.com/" });

const TRUE = ["true", "True", "TRUE", "1", "yes"] as const;
const FALSE = ["false", "False", "FALSE", "0", "no"] as const;

/** "true"/"false" (and the usual spellings); "" or absent means "not given". */
export const boolParam = (description: string) =>
  z
    .enum(["", ...TRUE, ...FALSE], { message: "must be true or false" })
    .optional()
    .openapi({ description, example: "true" });

export function parseBool(v: string | undefined): boolean | null {
  if (v === undefined || v === "") return null;
  return (TRUE as readonly string[]).includes(v);
}
