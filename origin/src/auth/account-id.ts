import { blake2b } from "@noble/hashes/blake2.js";
import { z } from "zod";

// An account is the keyed hash of its email address, so the backend can recognise a returning
// person without ever storing the address. Same construction as the upstream API
// (BLAKE2b, 16-byte digest, key = the UTF-8 bytes of ACCOUNT_ID_HASHING_KEY, lowercase hex), so an
// operator who reuses the upstream key keeps the upstream account ids.

export const ACCOUNT_ID_RE = /^[0-9a-f]{32}$/;
export const AccountId = z.string().regex(ACCOUNT_ID_RE, { error: "must be 32 lowercase hex digits" });

const encoder = new TextEncoder();

/** Parses and canonicalises an email address (trimmed, lowercased); zod's message never echoes it. */
export const EmailAddress = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, { error: "is too long" })
  .pipe(z.email({ error: "is not a valid email address" }));

export class AccountIdHasher {
  readonly #key: Uint8Array;

  constructor(key: string) {
    this.#key = encoder.encode(key);
    if (this.#key.length < 1 || this.#key.length > 64) throw new Error("ACCOUNT_ID_HASHING_KEY must be 1 to 64 bytes");
  }

  /** `email` must already be canonical (EmailAddress). */
  accountId(email: string): string {
    return Buffer.from(blake2b(encoder.encode(email), { key: this.#key, dkLen: 16 })).toString("hex");
  }
}
