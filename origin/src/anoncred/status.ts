// Verification status of a measurement: one letter in the fastpath table's is_verified column,
// a word in API answers — the same mapping as upstream (ooniapi common/anonymous_credentials.py).

export type VerificationCode = "t" | "f" | "u";
export type VerificationStatus = "verified" | "failed" | "unverified";

const WORDS: Record<VerificationCode, VerificationStatus> = { t: "verified", f: "failed", u: "unverified" };

export function verificationStatusOf(code: unknown): VerificationStatus {
  return typeof code === "string" && Object.hasOwn(WORDS, code) ? WORDS[code as VerificationCode] : "unverified";
}

export function verificationCodeOf(status: VerificationStatus): VerificationCode {
  return status === "verified" ? "t" : status === "failed" ? "f" : "u";
}

/** The envelope's is_verified as stored in a spool file: anything but t/f reads as "u". */
export function storedVerificationCode(v: unknown): VerificationCode {
  return v === "t" || v === "f" ? v : "u";
}
