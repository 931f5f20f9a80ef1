import { z } from "zod";
import { EmailAddress } from "./account-id";

// Settings of accounts for people (merged into the origin's EnvSchema in config.ts).

const DEFAULT_LOGIN_ORIGINS = [
  "https://explorer.ooni.org",
  "https://explorer.test.ooni.org",
  "https://run.ooni.org",
  "https://run.ooni.io",
  "https://run.test.ooni.org",
  "https://test-lists.ooni.org",
  "https://test-lists.test.ooni.org",
].join(",");

const list = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));

/** "https://host[:port]" or a bare host name (meaning https); http only for loopback development. */
function toOrigin(entry: string): string | null {
  try {
    const u = new URL(entry.includes("://") ? entry : `https://${entry}`);
    const loopback = u.hostname === "localhost" || u.hostname === "127.0.0.1" || u.hostname === "[::1]";
    if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) return null;
    if (u.username || u.password || (u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) return null;
    return u.origin;
  } catch {
    return null;
  }
}

export const AccountSettings = z.object({
  ACCOUNT_ID_HASHING_KEY: z
    .string()
    .refine((v) => {
      const n = Buffer.byteLength(v);
      return n >= 16 && n <= 64;
    }, { error: "must be 16 to 64 bytes (BLAKE2b key)" })
    .optional(),
  SESSION_EXPIRY_DAYS: z.coerce.number().positive().max(3650).default(10),
  LOGIN_EXPIRY_DAYS: z.coerce.number().positive().max(3650).default(10),
  LOGIN_REDIRECT_ORIGINS: list
    .pipe(
      z.array(z.string()).refine((a) => a.every((e) => toOrigin(e) !== null), {
        error: "must be a comma-separated list of https origins or host names (http only for localhost)",
      }),
    )
    .default(DEFAULT_LOGIN_ORIGINS.split(",")),
  ADMIN_EMAILS: list
    .pipe(z.array(z.string()).refine((a) => a.every((e) => EmailAddress.safeParse(e).success), {
      error: "must be a comma-separated list of email addresses",
    }))
    .default([]),
});

export interface AccountsConfig {
  /** From ACCOUNT_ID_HASHING_KEY; null = generated once in $DATA_DIR/secrets. */
  hashingKey: string | null;
  sessionExpiryS: number;
  loginExpiryS: number;
  /** Origins a login link may point to (`redirect_to` must be on one of them). */
  redirectOrigins: string[];
  /** Canonical addresses that are always admin. Hashed at start-up; never logged. */
  adminEmails: string[];
}

export function accountsConfig(env: z.infer<typeof AccountSettings>): AccountsConfig {
  return {
    hashingKey: env.ACCOUNT_ID_HASHING_KEY ?? null,
    sessionExpiryS: Math.round(env.SESSION_EXPIRY_DAYS * 86_400),
    loginExpiryS: Math.round(env.LOGIN_EXPIRY_DAYS * 86_400),
    redirectOrigins: env.LOGIN_REDIRECT_ORIGINS.map((e) => toOrigin(e)!),
    adminEmails: env.ADMIN_EMAILS.map((e) => EmailAddress.parse(e)),
  };
}
