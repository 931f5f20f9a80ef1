import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { fail } from "./respond";
import { createRouter } from "../http/router";
import { jsonBodyLimit } from "../http/body-limit";
import { EmailAddress } from "./account-id";
import { claimLoginLink, refreshSession, sendLoginLink, type Refusal } from "./login-flow";
import { expungeCheck, requireRole, sessionOf } from "./middleware";
import { ROLES } from "./tokens";
import type { Context } from "hono";

// Email login for people (Explorer, Test List Editor, OONI Run): register → emailed link →
// session bearer → refresh. Registration is stateless and answers the same whether or not the
// account exists; nothing here stores, logs or echoes an email address.

// An address and a URL, or an address and a role: a few hundred bytes. Without a cap the JSON
// parser would buffer whatever a client streams (found by test/security/http-limits.test.ts).
const smallBody = jsonBodyLimit(16 * 1024);

const ErrorBody = z.object({ error: z.string() }).passthrough().openapi("AuthError");
const err = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });
const bearerSecurity = [{ bearerAuth: [] }];

const Register = z
  .object({
    email_address: EmailAddress,
    redirect_to: z.string().max(2048).openapi({ example: "https://explorer.ooni.org/" }),
  })
  .openapi("UserRegister");

const registerRoute = createRoute({
  method: "post",
  path: "/api/v1/user_register",
  tags: ["accounts"],
  summary: "Email a login link",
  middleware: [smallBody] as const,
  description:
    "Sends a login link (valid one day, for one login) to the address. `redirect_to` must be on a configured login " +
    "site (LOGIN_REDIRECT_ORIGINS); the link points to that site's /login page. The answer is the same " +
    "whether or not an account exists.",
  request: { body: { required: true, content: { "application/json": { schema: Register } } } },
  responses: {
    200: { description: "Link sent", content: { "application/json": { schema: z.object({ msg: z.literal("ok") }) } } },
    400: err("Invalid email address or redirect_to, or the mail relay refused the address"),
    413: err("Body too large"),
    503: err("The mail relay or the account database is unavailable"),
  },
});

const loginRoute = createRoute({
  method: "get",
  path: "/api/v1/user_login",
  tags: ["accounts"],
  summary: "Exchange a login link token for a session bearer",
  request: { query: z.object({ k: z.string().min(1).max(4096).openapi({ description: "the token from the login link" }) }) },
  responses: {
    200: {
      description: "Session token",
      content: {
        "application/json": {
          schema: z
            .object({
              bearer: z.string(),
              redirect_to: z.string(),
              email_address: z.string().openapi({ description: "the address the login link was sent to (from the token; empty for older links)" }),
            })
            .openapi("UserLogin"),
        },
      },
    },
    401: err("Invalid, expired or already used login token, or one issued before the account's sessions were expunged"),
  },
});

const refreshRoute = createRoute({
  method: "get",
  path: "/api/v1/user_refresh_token",
  tags: ["accounts"],
  summary: "A fresh session bearer (never beyond the login's expiry)",
  security: bearerSecurity,
  middleware: [requireRole("user", "admin")] as const,
  responses: {
    200: { description: "Session token", content: { "application/json": { schema: z.object({ bearer: z.string() }) } } },
    401: err("Authentication required"),
  },
});

const metadataRoute = createRoute({
  method: "get",
  path: "/api/_/account_metadata",
  tags: ["accounts"],
  summary: "Whether the bearer is logged in, and its role",
  description: "The bearer is optional: without one (or with an invalid or expunged one) the answer is logged out.",
  responses: {
    200: {
      description: 'Logged in with a role, or not logged in (`{"logged_in": false, "role": ""}`, as upstream)',
      content: {
        "application/json": {
          schema: z.union([z.object({ logged_in: z.literal(true), role: z.enum(ROLES) }), z.object({ logged_in: z.literal(false), role: z.literal("") })]),
        },
      },
    },
    503: err("The session check cannot be made (database unavailable)"),
  },
});

const SetRole = z.object({ email_address: EmailAddress, role: z.enum(ROLES) }).openapi("SetAccountRole");
const setRoleRoute = createRoute({
  method: "post",
  path: "/api/v1/set_account_role",
  tags: ["accounts"],
  summary: "Set an account's role (admin); its existing sessions are expunged",
  security: bearerSecurity,
  middleware: [requireRole("admin"), smallBody] as const,
  request: { body: { required: true, content: { "application/json": { schema: SetRole } } } },
  responses: {
    200: { description: "Role set", content: { "application/json": { schema: z.object({}) } } },
    400: err("Invalid email address or role"),
    401: err("Authentication required"),
    403: err("Role not authorized"),
    413: err("Body too large"),
  },
});

const getRoleRoute = createRoute({
  method: "get",
  path: "/api/v1/get_account_role/{email_address}",
  tags: ["accounts"],
  summary: "An account's role (admin)",
  description: "The address is hashed and never logged (request logs redact the path segment).",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: { params: z.object({ email_address: EmailAddress }) },
  responses: {
    200: { description: "Role", content: { "application/json": { schema: z.object({ role: z.enum(ROLES) }) } } },
    400: err("Invalid email address"),
    401: err("Authentication required"),
    403: err("Role not authorized"),
    404: err("Account not found"),
  },
});

const expungeRoute = createRoute({
  method: "post",
  path: "/api/v1/set_session_expunge",
  tags: ["accounts"],
  summary: "Invalidate every session of an account issued until now (admin)",
  security: bearerSecurity,
  middleware: [requireRole("admin"), smallBody] as const,
  request: { body: { required: true, content: { "application/json": { schema: z.object({ email_address: EmailAddress }) } } } },
  responses: {
    200: { description: "Sessions expunged", content: { "application/json": { schema: z.object({}) } } },
    400: err("Invalid email address"),
    401: err("Authentication required"),
    403: err("Role not authorized"),
    413: err("Body too large"),
  },
});

/** A refused link request: 400 (with the parameter when one is at fault) or 503. */
function refuse(c: Context<AppEnv>, r: Refusal) {
  if (r.status === 503) return fail(c, 503, r.error);
  return fail(c, 400, r.error, r.parameter ? { parameter: r.parameter, in: "json" } : {});
}

function noStore(c: Context<AppEnv>) {
  c.header("Cache-Control", "no-store");
}

export function authRoutes() {
  const app = createRouter();
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });

  // CORS (preflights included) is the app-wide policy in cors/middleware.ts; the login sites are
  // always in it.
  app.openapi(registerRoute, async (c) => {
    const { email_address: email, redirect_to: redirectTo } = c.req.valid("json");
    const sent = await sendLoginLink(c, email, redirectTo);
    if (!sent.ok) return refuse(c, sent);
    noStore(c);
    return c.json({ msg: "ok" as const }, 200);
  });

  app.openapi(loginRoute, async (c) => {
    const s = await claimLoginLink(c, c.req.valid("query").k);
    if (!s.ok) return fail(c, 401, s.error);
    noStore(c);
    // Explorer keeps email_address from this answer and sends it back with findings it creates.
    return c.json({ bearer: s.bearer, redirect_to: s.redirectTo, email_address: s.emailAddress }, 200);
  });

  app.openapi(refreshRoute, async (c) => {
    const { bearer } = await refreshSession(c, c.get("account"));
    return c.json({ bearer }, 200);
  });

  app.openapi(metadataRoute, async (c) => {
    noStore(c);
    // Logged out is an answer, not an error: every logged-out Explorer page asks (upstream's 200).
    const anonymous = { logged_in: false as const, role: "" as const };
    const session = await sessionOf(c);
    if (!session) return c.json(anonymous, 200);
    const check = await expungeCheck(c, session);
    if (check === "unavailable") return fail(c, 503, "Authentication temporarily unavailable");
    if (check === "expunged") return c.json(anonymous, 200);
    return c.json({ logged_in: true as const, role: session.role }, 200);
  });

  app.openapi(setRoleRoute, async (c) => {
    const { email_address: email, role } = c.req.valid("json");
    const { auth, log } = c.get("services");
    const accountId = auth.hasher.accountId(email);
    await auth.store.setRole(accountId, role);
    // Tokens carry the role: the old ones must stop working, so the new role applies at once.
    await auth.store.expunge(accountId);
    log.info({ req_id: c.get("requestId"), account_id: accountId, role, by: c.get("account").accountId }, "account role set");
    return c.json({}, 200);
  });

  app.openapi(getRoleRoute, async (c) => {
    const { auth } = c.get("services");
    const state = await auth.loginState(auth.hasher.accountId(c.req.valid("param").email_address));
    if (!state.role) return fail(c, 404, "Account not found");
    return c.json({ role: state.role }, 200);
  });

  app.openapi(expungeRoute, async (c) => {
    const { auth, log } = c.get("services");
    const accountId = auth.hasher.accountId(c.req.valid("json").email_address);
    await auth.store.expunge(accountId);
    log.info({ req_id: c.get("requestId"), account_id: accountId, by: c.get("account").accountId }, "sessions expunged");
    return c.json({}, 200);
  });

  return app;
}
