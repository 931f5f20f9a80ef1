import { z } from "@hono/zod-openapi";

// Anonymous-credential verification of a measurement, as upstream answers it: the fastpath column
// is_verified holds "t", "f" or "u" (issue 19 fills it at submission); the API names the state.
// Anything else (a row written before the column existed) is null: nothing is known.

export const VerificationStatus = z
  .enum(["verified", "failed", "unverified"])
  .nullable()
  .openapi({
    description: "Anonymous credentials verification: verified, failed or unverified; null when nothing is known",
    example: "unverified",
  });
export type VerificationStatus = z.infer<typeof VerificationStatus>;

const BY_CODE: Record<string, Exclude<VerificationStatus, null>> = { t: "verified", f: "failed", u: "unverified" };

export function verificationStatus(code: string | null | undefined): VerificationStatus {
  return (code && BY_CODE[code]) || null;
}
