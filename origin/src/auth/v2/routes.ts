import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../app-env";
import { jsonBodyLimit } from "../../http/body-limit";
import { createRouter } from "../../http/router";
import { EmailAddress } from "../account-id";
import { claimLoginLink, refreshSession, sendLoginLink } from "../login-flow";
import { expungeCheck, sessionOf } from "../middleware";
import { fail } from "../respond";
import { ROLES, type Session } from "../tokens";

// Email login as upstream's ooniauth v2 answers it (/api/v2/ooniauth/*), which the OONI Run app
// calls: user-login emails the link (to <site>/login?token=…), POST user-session exchanges the
// link's token for a session token (or, with a bearer and no token, refreshes it), GET
// user-session says who the bearer is. The same links, sessions and rules as the v1 routes
// (login-flow.ts): a link works once, sessions end at expunge, no address is stored.

const smallBody = jsonBodyLimit(16 * 1024);
const ErrorBody = z.object({ error: z.string() }).passthrough().openapi("AuthV2Error");
const err = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

const UserLogin = z
  .object({
    email_address: EmailAddress,
    redirect_to: z.string().max(2048).openapi({ example: "https://run.ooni.org/en" }),
  })
  .openapi("UserLoginV2Request");

const UserSession = z
  .object({
    session_token: z.string().openapi({ description: "the bearer for Authorization; empty in GET answers" }),
    redirect_to: z.string(),
    email_address: z.string(),
    account_id: z.string(),
    role: z.union([z.enum(ROLES), z.literal("")]),
    login_time: z.string().nullable().openapi({ description: "ISO 8601, UTC; null when not logged in" }),
    is_logged_in: z.boolean(),
  })
  .openapi("UserSessionV2");

const userLoginRoute = createRoute({
  method: "post",
  path: "/api/v2/ooniauth/user-login",
  tags: ["accounts"],
  summary: "Email a login link (ooniauth v2)",
  description:
    "As /api/v1/user_register: a one-day, single-use link to `redirect_to`'s site (LOGIN_REDIRECT_ORIGINS), " +
    "at its /login page with the token in `token`.",
  middleware: [smallBody] as const,
  request: { body: { required: true, content: { "application/json": { schema: UserLogin } } } },
  responses: {
    200: {
      description: "Link sent",
      content: {
        "application/json": {
          schema: z.object({ email_address: z.string(), login_token_expiration: z.string().openapi({ description: "ISO 8601, UTC" }) }).openapi("UserLoginV2"),
        },
      },
    },
    400: err("Invalid email address or redirect_to, or the mail relay refused the address"),
    413: err("Body too large"),
    503: err("The mail relay or the account database is unavailable"),
  },
});

const SessionRequest = z.object({ login_token: z.string().min(1).max(4096).nullish() }).openapi("UserSessionV2Request");

const createSessionRoute = createRoute({
  method: "post",
  path: "/api/v2/ooniauth/user-session",
  tags: ["accounts"],
  summary: "Log in with a link's token, or refresh the bearer's session (ooniauth v2)",
  description: "With `login_token`: exchanges it (once) for a session. Without: a fresh session token for a valid bearer.",
  security: [{ bearerAuth: [] }, {}],
  middleware: [smallBody] as const,
  request: {
    body: {
      required: false,
      content: { "application/json": { schema: SessionRequest } },
    },
  },
  responses: {
    200: { description: "Session", content: { "application/json": { schema: UserSession } } },
    400: err("Invalid body"),
    401: err("Invalid, expired or used login token, or no valid session"),
    413: err("Body too large"),
    503: err("The session check cannot be made (database unavailable)"),
  },
});

const getSessionRoute = createRoute({
  method: "get",
  path: "/api/v2/ooniauth/user-session",
  tags: ["accounts"],
  summary: "Who the bearer is (ooniauth v2); logged out is an answer, not an error",
  // No security requirement declared, as account_metadata: the bearer is optional and a missing
  // or invalid one is the logged-out answer (200), never a refusal.
  description: "The bearer is optional: without one (or with an invalid or expunged one) the answer is logged out.",
  responses: {
    200: { description: "Session, or the logged-out answer (is_logged_in false)", content: { "application/json": { schema: UserSession } } },
    503: err("The session check cannot be made (database unavailable)"),
  },
});

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const LOGGED_OUT = { session_token: "", redirect_to: "", email_address: "", account_id: "", role: "" as const, login_time: null, is_logged_in: false };

/** The bearer's session if it is valid and not expunged; "unavailable" when that cannot be told. */
async function liveSession(c: Context<AppEnv>): Promise<Session | null | "unavailable"> {
  const s = await sessionOf(c);
  if (!s) return null;
  const check = await expungeCheck(c, s);
  if (check === "unavailable") return "unavailable";
  return check === "ok" ? s : null;
}

export function authV2Routes() {
  const app = createRouter();

  app.openapi(userLoginRoute, async (c) => {
    const { email_address: email, redirect_to: redirectTo } = c.req.valid("json");
    const sent = await sendLoginLink(c, email, redirectTo);
    if (!sent.ok) {
      if (sent.status === 503) return fail(c, 503, sent.error);
      return fail(c, 400, sent.error, sent.parameter ? { parameter: sent.parameter, in: "json" } : {});
    }
    c.header("Cache-Control", "no-store");
    return c.json({ email_address: email, login_token_expiration: iso(sent.expiresAt) }, 200);
  });

  app.openapi(createSessionRoute, async (c) => {
    c.header("Cache-Control", "no-store");
    // The body is optional (the Run app's refresh posts none), so it is read here, not by the
    // route's validator: absent or empty means "refresh the bearer's session".
    const text = await c.req.text();
    let loginToken: string | null = null;
    if (text.trim() !== "") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return fail(c, 400, "invalid body: not JSON");
      }
      const r = SessionRequest.safeParse(parsed);
      if (!r.success) return fail(c, 400, "invalid login_token: must be a string", { parameter: "login_token", in: "json" });
      loginToken = r.data.login_token ?? null;
    }
    if (loginToken) {
      const s = await claimLoginLink(c, loginToken);
      if (!s.ok) return fail(c, 401, s.error);
      return c.json(
        { session_token: s.bearer, redirect_to: s.redirectTo, email_address: s.emailAddress, account_id: s.accountId, role: s.role, login_time: iso(s.loginTime), is_logged_in: true },
        200,
      );
    }
    const session = await liveSession(c);
    if (session === "unavailable") return fail(c, 503, "Authentication temporarily unavailable");
    if (!session) return fail(c, 401, "no valid session found");
    const { bearer, role } = await refreshSession(c, session);
    return c.json(
      { session_token: bearer, redirect_to: "", email_address: session.emailAddress ?? "", account_id: session.accountId, role, login_time: iso(session.loginTime), is_logged_in: true },
      200,
    );
  });

  app.openapi(getSessionRoute, async (c) => {
    c.header("Cache-Control", "no-store");
    const session = await liveSession(c);
    if (session === "unavailable") return fail(c, 503, "Authentication temporarily unavailable");
    if (!session) return c.json(LOGGED_OUT, 200);
    return c.json(
      { session_token: "", redirect_to: "", email_address: session.emailAddress ?? "", account_id: session.accountId, role: session.role, login_time: iso(session.loginTime), is_logged_in: true },
      200,
    );
  });

  return app;
}
