import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";

// Probe credentials (the legacy API's scheme, HS256 JWTs):
// - register → client_id, a JWT {iat, aud:"probe_login"}. iat is rounded up to the first day of
//   next month, as the legacy API did, so every probe registering in a month gets the same client_id:
//   it authenticates the probe software without identifying one probe.
// - login {username: client_id} → token, a JWT {registration_time, aud:"probe_token"} valid 7 days.
//   A username that is not a JWT at all is a legacy (pre-JWT) credential and is accepted, as before;
//   a JWT that fails verification is a 401.
// - tor-targets and psiphon-config require `Authorization: Bearer <token>`.

export class TokenError extends Error {}

const TOKEN_DAYS = 7;

function beginningOfNextMonth(now: Date): number {
  return Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000);
}

/** `2006-01-02T15:04:05Z`, the layout the probe parses. */
export function probeTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class ProbeTokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async register(now = new Date()): Promise<string> {
    return new SignJWT({ aud: "probe_login", iat: beginningOfNextMonth(now) })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(this.key);
  }

  async login(username: string, now = new Date()): Promise<{ token: string; expire: string; legacy: boolean }> {
    let registrationTime: number | null = null;
    let legacy = false;
    let isJwt = false;
    try {
      decodeProtectedHeader(username);
      isJwt = true;
    } catch {
      legacy = true;
    }
    if (isJwt) {
      try {
        const { payload } = await jwtVerify(username, this.key, { audience: "probe_login", algorithms: ["HS256"] });
        if (typeof payload.iat !== "number") throw new TokenError("client_id lacks iat");
        registrationTime = payload.iat;
      } catch {
        throw new TokenError("Invalid credentials");
      }
    }
    const exp = new Date(now.getTime() + TOKEN_DAYS * 86_400_000);
    const token = await new SignJWT({ registration_time: registrationTime, aud: "probe_token" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(exp.getTime() / 1000))
      .sign(this.key);
    return { token, expire: probeTime(new Date(Math.floor(exp.getTime() / 1000) * 1000)), legacy };
  }

  /** Throws TokenError unless the header carries a valid, unexpired probe token. */
  async verifyBearer(authorization: string | undefined): Promise<void> {
    const m = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(authorization?.trim() ?? "");
    if (!m) throw new TokenError("missing or malformed Authorization: Bearer token");
    try {
      await jwtVerify(m[1]!, this.key, { audience: "probe_token", algorithms: ["HS256"], requiredClaims: ["exp"] });
    } catch {
      throw new TokenError("Invalid credentials");
    }
  }
}
