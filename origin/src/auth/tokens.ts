import { randomBytes } from "node:crypto";
import { SignJWT, jwtVerify, errors } from "jose";
import { z } from "zod";
import { AccountId } from "./account-id";

// Two kinds of HS256 tokens, told apart by audience so one can never stand in for the other (nor
// for a probe token, which shares the key): the emailed login link (aud "register", 1 day) and the
// session bearer (aud "user_auth"). Only HS256 is accepted: "alg": "none" and every other algorithm
// fail verification before any claim is read.

export const ROLES = ["user", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface Session {
  accountId: string;
  role: Role;
  /** When the person followed the login link (seconds); refreshes never extend past login + expiry. */
  loginTime: number;
  issuedAt: number;
  expiresAt: number;
  /**
   * The address the login link was sent to, carried in the token (as upstream) so that Explorer's
   * forms get it back; never stored or logged by us. null in tokens made before it was carried.
   */
  emailAddress: string | null;
}

export interface TokenOptions {
  secret: string;
  sessionExpiryS: number;
  loginExpiryS: number;
  registerExpiryS?: number;
}

const ALG = "HS256";
const CLOCK_TOLERANCE_S = 30; // several origin hosts' clocks may differ slightly

const Email = z.string().max(320);
// jti names the link so it can be used once (store.ts); iat is compared with the expunge threshold.
const RegisterClaims = z.object({
  account_id: AccountId,
  redirect_to: z.string().url(),
  email_address: Email.optional(),
  jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  iat: z.number().int(),
  exp: z.number().int(),
});
const SessionClaims = z.object({
  account_id: AccountId,
  email_address: Email.optional(),
  role: z.enum(ROLES),
  login_time: z.number().int().nonnegative(),
  iat: z.number().int(),
  exp: z.number().int(),
});

export type RegisterCheck =
  | { ok: true; accountId: string; redirectTo: string; emailAddress: string | null; linkId: string; issuedAt: number; expiresAt: number }
  | { ok: false; error: string };

export class TokenService {
  readonly #key: ReturnType<typeof crypto.subtle.importKey>;

  constructor(private readonly opts: TokenOptions) {
    this.#key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(opts.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
  }

  /**
   * A login link's token; it goes only to `emailAddress` itself, inside the emailed link.
   * `issuedAt` may be given (ahead of now, like sessionToken's) so that a link asked for right
   * after an expunge is not caught by the whole-second expunge threshold.
   */
  async registerToken(accountId: string, redirectTo: string, emailAddress?: string, issuedAt?: number): Promise<string> {
    const now = nowS();
    return new SignJWT({ account_id: accountId, redirect_to: redirectTo, ...(emailAddress ? { email_address: emailAddress } : {}) })
      .setProtectedHeader({ alg: ALG, typ: "JWT" })
      .setAudience("register")
      .setJti(randomBytes(18).toString("base64url"))
      .setIssuedAt(Math.max(now, issuedAt ?? now))
      .setNotBefore(now)
      .setExpirationTime(now + (this.opts.registerExpiryS ?? 86_400))
      .sign(await this.#key);
  }

  async verifyRegisterToken(token: string): Promise<RegisterCheck> {
    try {
      const { payload } = await jwtVerify(token, await this.#key, {
        algorithms: [ALG],
        audience: "register",
        requiredClaims: ["exp", "nbf"], // iat and jti: required by RegisterClaims, after the expiry check
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const claims = RegisterClaims.safeParse(payload);
      if (!claims.success) return { ok: false, error: "Invalid credentials" };
      const d = claims.data;
      return { ok: true, accountId: d.account_id, redirectTo: d.redirect_to, emailAddress: d.email_address ?? null, linkId: d.jti, issuedAt: d.iat, expiresAt: d.exp };
    } catch (err) {
      return { ok: false, error: err instanceof errors.JWTExpired ? "Expired token" : "Invalid credentials" };
    }
  }

  /**
   * A session bearer. `issuedAt` may be given (up to a second ahead) so that a login right after an
   * expunge is not caught by the expunge threshold, which has whole-second precision.
   */
  async sessionToken(s: { accountId: string; role: Role; loginTime?: number; issuedAt?: number; emailAddress?: string | null }): Promise<string> {
    const now = nowS();
    const loginTime = s.loginTime ?? now;
    const exp = Math.min(now + this.opts.sessionExpiryS, loginTime + this.opts.loginExpiryS);
    const email = s.emailAddress ? { email_address: s.emailAddress } : {};
    return new SignJWT({ account_id: s.accountId, login_time: loginTime, role: s.role, ...email })
      .setProtectedHeader({ alg: ALG, typ: "JWT" })
      .setAudience("user_auth")
      .setIssuedAt(Math.max(now, s.issuedAt ?? now))
      .setNotBefore(now)
      .setExpirationTime(exp)
      .sign(await this.#key);
  }

  /** The session a bearer token proves, or null (bad signature, algorithm, audience, time or claims). */
  async verifySession(token: string): Promise<Session | null> {
    try {
      const { payload } = await jwtVerify(token, await this.#key, {
        algorithms: [ALG],
        audience: "user_auth",
        requiredClaims: ["exp", "nbf", "iat"],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const c = SessionClaims.safeParse(payload);
      if (!c.success) return null;
      return {
        accountId: c.data.account_id,
        role: c.data.role,
        loginTime: c.data.login_time,
        issuedAt: c.data.iat,
        expiresAt: c.data.exp,
        emailAddress: c.data.email_address ?? null,
      };
    } catch {
      return null;
    }
  }
}

function nowS(): number {
  return Math.floor(Date.now() / 1000);
}
