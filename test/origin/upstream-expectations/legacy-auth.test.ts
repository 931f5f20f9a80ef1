import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshEmail, startUpstream, type Upstream } from "./support";

// ooni/backend api/tests/integ/test_integration_auth.py (the legacy Flask API's accounts and
// measurement feedback, 32d8349d), as our tests, with the login link read from the outbox.
// SESSION_EXPIRY_DAYS / LOGIN_EXPIRY_DAYS as upstream's test configuration (2 and 7).

const ADMIN = "integtest@openobservatory.org";
// adapted: upstream's uid is "bogus_uid"; here feedback is only for well-formed measurement uids
// (a 400 naming measurement_uid otherwise), so a real-looking one stands in for it
const UID = "20210709005529.664022_MY_webconnectivity_68e5bea1060d1874";
let u: Upstream;
beforeAll(async () => {
  u = await startUpstream({ ADMIN_EMAILS: ADMIN, SESSION_EXPIRY_DAYS: "2", LOGIN_EXPIRY_DAYS: "7" });
  await u.origin.services.db.client.insert({
    table: "msmt_feedback",
    values: [
      { measurement_uid: UID, account_id: "bogus_acc_1", status: "ok" },
      { measurement_uid: UID, account_id: "bogus_acc_2", status: "ok" },
      { measurement_uid: UID, account_id: "bogus_acc_3", status: "blocked" },
    ],
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await u?.close();
});

const EXPLORER = "https://explorer.ooni.org";
const login = async (email: string) => (await u.login(email, EXPLORER)).bearer;
const metadata = async (bearer?: string) => (await u.req("GET", "/api/_/account_metadata", { bearer })).json;
// adapted: logged out is {"logged_in": false, "role": ""} (the current upstream); the legacy API left role out
const LOGGED_OUT = { logged_in: false, role: "" };

describe("legacy accounts (test_integration_auth.py)", () => {
  it("test_login_user_bogus_token", async () => {
    const r = await u.req("GET", "/api/v1/user_login?k=BOGUS");
    expect(r.status).toBe(401);
    expect(typeof r.json.error).toBe("string"); // adapted: upstream's text is "Invalid credentials"
  });

  it("test_user_register_non_valid_email: an address without a domain name", async () => {
    const r = await u.req("POST", "/api/v1/user_register", { body: { email_address: "nick@localhost", redirect_to: EXPLORER } });
    expect(r.status).toBe(400);
    expect(r.json.parameter).toBe("email_address"); // adapted: upstream {"error": "Invalid email address"}
  });

  it("test_user_register_non_valid_redirect: a site that is not a login site", async () => {
    const r = await u.req("POST", "/api/v1/user_register", { body: { email_address: "nick@a.org", redirect_to: "https://BOGUS.ooni.org" } });
    expect(r.status).toBe(400);
    expect(r.json.parameter).toBe("redirect_to"); // adapted: upstream {"error": "Invalid request"}
  });

  it("test_user_register_and_logout / _and_get_metadata: the link logs in; without the bearer, logged out", async () => {
    expect(await metadata()).toEqual(LOGGED_OUT);
    const email = freshEmail("legacy-user");
    const l = await u.login(email, EXPLORER);
    expect(l.redirect_to).toBe(EXPLORER);
    expect(await metadata(l.bearer)).toEqual({ logged_in: true, role: "user" });
    expect(await metadata()).toEqual(LOGGED_OUT);
  });

  it("test_role_set_not_allowed", async () => {
    const body = { email_address: ADMIN, role: "admin" };
    expect((await u.req("POST", "/api/v1/set_account_role", { body })).status).toBe(401);
    const user = await login(freshEmail("legacy-user"));
    // adapted: upstream 401 for a logged-in user; 403 here (authenticated, not allowed), as everywhere
    expect((await u.req("POST", "/api/v1/set_account_role", { body, bearer: user })).status).toBe(403);
    expect((await u.req("GET", `/api/v1/get_account_role/${ADMIN}`)).status).toBe(401);
  });

  it("test_role_set_multiple", async () => {
    const admin = await login(ADMIN);
    const set = (email_address: string, role: string, bearer: string) => u.req("POST", "/api/v1/set_account_role", { body: { email_address, role }, bearer });
    expect((await set(ADMIN, "admin", admin)).status).toBe(200);
    // setting a role ends the account's sessions (docs/accounts.md): log in again
    const again = await login(ADMIN);
    expect((await set("BOGUS_EMAIL_ADDR", "admin", again)).status).toBe(400);
    expect((await set(ADMIN, "BOGUS_ROLE", again)).status).toBe(400);
    const role = await u.req("GET", `/api/v1/get_account_role/${ADMIN}`, { bearer: again });
    expect(role.status).toBe(200);
    expect(role.json).toEqual({ role: "admin" });
    expect((await u.req("GET", "/api/v1/get_account_role/BOGUS_EMAIL_ADDR", { bearer: again })).status).toBe(400);
    const missing = await u.req("GET", "/api/v1/get_account_role/valid_but_not_found@example.org", { bearer: again });
    // adapted: upstream 400 {"error": "Account not found"}; 404 with the same error here
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe("Account not found");
    expect((await set(ADMIN, "user", again)).status).toBe(200);
  });

  it("test_session_refresh_and_expire: the session token's claims and lifetimes", async () => {
    const bearer = await login(ADMIN);
    const t = decodeJwt(bearer);
    expect(t.aud).toBe("user_auth");
    expect(t.role).toBe("admin");
    expect(t.account_id).toMatch(/^[0-9a-f]{32}$/);
    expect(t.exp! - t.nbf!).toBe(2 * 86_400); // SESSION_EXPIRY_DAYS (iat may be a second ahead, after an expunge)
    expect(t.login_time).toBe(t.nbf);
    expect((await u.req("GET", `/api/v1/get_account_role/${ADMIN}`, { bearer })).status).toBe(200);
    // upstream then moves the clock past the login's 7 days (freeze_time) and expects 401; the
    // expiry arithmetic is tested with a fake clock in test/origin/auth/ (not repeated here)
  });
});

describe("legacy measurement feedback (test_integration_auth.py)", () => {
  it("test_msmt_feedback_get_no_auth: the summary of everyone's feedback", async () => {
    expect((await u.req("GET", `/api/_/measurement_feedback/${UID}`)).json).toEqual({ summary: { blocked: 1, ok: 2 } });
  });

  it("test_msmt_feedback_submit_no_auth: refused; an unknown uid has an empty summary", async () => {
    const r = await u.req("POST", "/api/_/measurement_feedback", { body: { status: "foo", measurement_uid: UID } });
    expect(r.json).toEqual({ error: "Authentication required" });
    expect((await u.req("GET", "/api/_/measurement_feedback/20210709005529.664022_MY_webconnectivity_0000000000000000")).json).toEqual({ summary: {} });
  });

  it("test_msmt_feedback_submit_valid_and_get: submit, read back, change", async () => {
    expect((await u.req("POST", "/api/_/measurement_feedback", { body: { status: "ok", measurement_uid: UID } })).json).toEqual({ error: "Authentication required" });
    const bearer = await login(freshEmail("legacy-feedback"));
    const post = await u.req("POST", "/api/_/measurement_feedback", { body: { status: "ok", measurement_uid: UID }, bearer });
    expect(post.status, post.text).toBe(200);
    expect(post.json).toEqual({});
    expect((await u.req("GET", `/api/_/measurement_feedback/${UID}`, { bearer })).json).toEqual({ summary: { blocked: 1, ok: 3 }, user_feedback: "ok" });
    expect((await u.req("POST", "/api/_/measurement_feedback", { body: { status: "blocked", measurement_uid: UID }, bearer })).json).toEqual({});
    expect((await u.req("GET", `/api/_/measurement_feedback/${UID}`, { bearer })).json).toEqual({ summary: { blocked: 2, ok: 2 }, user_feedback: "blocked" });
  });
});
