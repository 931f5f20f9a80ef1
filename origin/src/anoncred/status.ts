// Verification status of a measurement: one letter in the fastpath table's is_verified column,
// a word in API answers — upstream's mapping (ooniapi common/anonymous_credentials.py). The read
// API's side of it (the word from the column) is origin/src/measurements/verification.ts (issue 18).

export type VerificationCode = "t" | "f" | "u";
export type VerificationStatus = "verified" | "failed" | "unverified";

export function verificationCodeOf(status: VerificationStatus): VerificationCode {
  return status === "verified" ? "t" : status === "failed" ? "f" : "u";
}
