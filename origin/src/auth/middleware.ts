import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { jsonError } from "../http/errors";
import type { Role, Session } from "./tokens";

// Session bearer tokens ("Authorization: Bearer <jwt>"). Verifying the signature is memoised per
// request, so the quota middleware (which charges the account) and requireRole() share one check.

export interface AuthVars {
  /** Memo of the signature/time/audience check of this request's bearer token. */
  authSession: Promise<Session | null>;
  /** Set by requireRole(): the authenticated, non-expunged session with an allowed role. */
  account: Session;
}

const MAX_TOKEN_CHARS = 4096; // real tokens are ~300; bounds the work hostile headers can cause

function bearer(c: Context): string | null {
  const h = c.req.header("authorization");
  if (!h || h.length > MAX_TOKEN_CHARS + 7 || !/^bearer /i.test(h)) return null;
  const t = h.slice(7).trim();
  return t.length > 0 ? t : null;
}

/** The session the request's bearer token proves (not checked against expunge), or null. */
export function sessionOf(c: Context<AppEnv>): Promise<Session | null> {
  let memo = c.get("authSession");
  if (!memo) {
    const token = bearer(c);
    memo = token === null ? Promise.resolve(null) : c.get("services").auth.tokens.verifySession(token);
    c.set("authSession", memo);
  }
  return memo;
}

/**
 * The full check: a valid token, not expunged (iat before the account's threshold), with a role
 * in `roles` — else 401 "Authentication required" or 403 "Role not authorized". On success the
 * session is in c.get("account") and the response is marked uncacheable.
 */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set<Role>(roles.length ? roles : ["user", "admin"]);
  return async (c, next) => {
    const session = await sessionOf(c);
    if (!session) return jsonError(c, 401, "Authentication required");
    const check = await expungeCheck(c, session);
    // Fail closed: without the expunge table a revoked session cannot be told from a good one.
    if (check === "unavailable") return jsonError(c, 503, "Authentication temporarily unavailable");
    if (check === "expunged") return jsonError(c, 401, "Authentication required");
    if (!allowed.has(session.role)) return jsonError(c, 403, "Role not authorized");
    c.set("account", session);
    await next();
    c.header("Cache-Control", "no-store");
  };
}

export type ExpungeStatus = "ok" | "expunged" | "unavailable";

/** Whether the session was issued before its account's expunge threshold. */
export async function expungeCheck(c: Context<AppEnv>, session: Session): Promise<ExpungeStatus> {
  try {
    const { expungeThreshold } = await c.get("services").auth.store.state(session.accountId);
    return session.issuedAt < expungeThreshold ? "expunged" : "ok";
  } catch (err) {
    c.get("services").log.error({ req_id: c.get("requestId"), err: (err as Error).message }, "session check failed");
    return "unavailable";
  }
}
