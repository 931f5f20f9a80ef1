import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { MailRejectedError, MailUnavailableError } from "../mail";
import { loginEmail, loginUrl } from "./login-email";
import type { Role, Session } from "./tokens";

// The steps of email login that both account APIs share: v1 (/api/v1/user_register, user_login,
// user_refresh_token — Explorer) and v2 (/api/v2/ooniauth/user-login, user-session — the OONI
// Run app). Each step answers what happened; the routes turn that into their own answer shapes.

export type Refusal = { ok: false; status: 400 | 401 | 503; error: string; parameter?: string };

/** Emails a one-day, single-use login link to the site `redirectTo` names (a configured login site). */
export async function sendLoginLink(c: Context<AppEnv>, email: string, redirectTo: string): Promise<{ ok: true; expiresAt: number } | Refusal> {
  const { auth, mailer, log } = c.get("services");
  const origin = auth.loginOrigin(redirectTo);
  if (!origin) return { ok: false, status: 400, error: "invalid redirect_to: not on an allowed login site", parameter: "redirect_to" };
  const accountId = auth.hasher.accountId(email);
  // The link is checked against the expunge threshold at login; one asked for after an expunge
  // in the same second must still work.
  let threshold: number;
  try {
    threshold = (await auth.store.state(accountId)).expungeThreshold;
  } catch {
    return { ok: false, status: 503, error: "Authentication temporarily unavailable" };
  }
  const token = await auth.tokens.registerToken(accountId, redirectTo, email, threshold);
  try {
    await mailer.send(loginEmail(email, loginUrl(origin, token)));
  } catch (e) {
    if (e instanceof MailRejectedError) return { ok: false, status: 400, error: "Unable to send the email" };
    // Only an error code is logged: relay replies and composer errors can quote the address.
    const code = e instanceof MailUnavailableError ? e.code : ((e as NodeJS.ErrnoException).code ?? (e as Error).name);
    log.error({ req_id: c.get("requestId"), mailer: mailer.description, code }, "login email not sent");
    return { ok: false, status: 503, error: "Unable to send the email" };
  }
  log.info({ req_id: c.get("requestId"), account_id: accountId }, "login link sent");
  const check = await auth.tokens.verifyRegisterToken(token);
  return { ok: true, expiresAt: check.ok ? check.expiresAt : Math.floor(Date.now() / 1000) + 86_400 };
}

export interface NewSession {
  ok: true;
  bearer: string;
  accountId: string;
  role: Role;
  redirectTo: string;
  emailAddress: string;
  /** Seconds since the epoch. */
  loginTime: number;
}

/** Exchanges a login link's token for a session bearer; the link works once. */
export async function claimLoginLink(c: Context<AppEnv>, token: string): Promise<NewSession | Refusal> {
  const { auth, log } = c.get("services");
  const check = await auth.tokens.verifyRegisterToken(token);
  if (!check.ok) return { ok: false, status: 401, error: check.error };
  const state = await auth.loginState(check.accountId);
  // A link emailed before set_session_expunge (or a role change) is as dead as the sessions were.
  if (check.issuedAt < state.expungeThreshold) return { ok: false, status: 401, error: "Invalid credentials" };
  // Single use: a link found later in a mailbox, a log or a browser history logs nobody in.
  if (!(await auth.store.claimLoginLink(check.linkId, check.accountId, check.expiresAt))) {
    return { ok: false, status: 401, error: "Login link already used" };
  }
  const role = state.role ?? "user";
  const bearer = await auth.tokens.sessionToken({
    accountId: check.accountId,
    role,
    issuedAt: state.expungeThreshold,
    emailAddress: check.emailAddress,
  });
  log.info({ req_id: c.get("requestId"), account_id: check.accountId }, "user logged in");
  // The login time is the token's own (its clock), read back rather than computed twice.
  const loginTime = (await auth.tokens.verifySession(bearer))?.loginTime ?? Math.floor(Date.now() / 1000);
  return { ok: true, bearer, accountId: check.accountId, role, redirectTo: check.redirectTo, emailAddress: check.emailAddress ?? "", loginTime };
}

/** A fresh bearer for a valid session, never beyond its login's expiry; the role is read again. */
export async function refreshSession(c: Context<AppEnv>, s: Session): Promise<{ bearer: string; role: Role }> {
  const { auth } = c.get("services");
  // The role is read again: a role taken away in configuration does not survive a refresh.
  const state = await auth.loginState(s.accountId);
  const role = state.role ?? "user";
  const bearer = await auth.tokens.sessionToken({
    accountId: s.accountId,
    role,
    loginTime: s.loginTime,
    issuedAt: state.expungeThreshold,
    emailAddress: s.emailAddress,
  });
  return { bearer, role };
}
