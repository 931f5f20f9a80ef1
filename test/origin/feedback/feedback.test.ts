import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { FEEDBACK_STATUSES } from "../../../origin/src/feedback/routes";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { ADMIN, call, loginAll, type Bearers, type CallOptions, type Fetcher } from "../oonirun/support";

// Measurement feedback through the real app in this process, logged in through the outbox.

let origin: InProcessOrigin;
let f: Fetcher;
let who: Bearers;

beforeAll(async () => {
  origin = await startInProcessOrigin({ ADMIN_EMAILS: ADMIN });
  f = async (p, init) => origin.app.request(p, init);
  who = await loginAll(f, origin.services.config.mail.outboxDir);
});
afterAll(async () => {
  await origin?.close();
});

const req = (method: string, p: string, o?: CallOptions) => call(f, method, p, o);
const UID = "20240214090617.123456_IT_webconnectivity_0123456789abcdef";
const UID2 = "20240214090618.000001_US_ndt_fedcba9876543210";
const give = (bearer: string | undefined, status: string, uid = UID) =>
  req("POST", "/api/_/measurement_feedback", { bearer, body: { measurement_uid: uid, status } });
const read = (uid: string, bearer?: string) => req("GET", `/api/_/measurement_feedback/${uid}`, { bearer });

describe("measurement feedback", () => {
  it("nobody has said anything yet: an empty summary", async () => {
    const r = await read(UID);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ summary: {} });
  });

  it("anonymous cannot give feedback (401); a user and an admin can", async () => {
    const anon = await give(undefined, "ok");
    expect(anon.status).toBe(401);
    expect(anon.json).toEqual({ error: "Authentication required" });
    expect((await give(who.owner, "blocked.dns")).json).toEqual({});
    expect((await give(who.admin, "blocked.dns")).status).toBe(200);
    expect((await read(UID)).json).toEqual({ summary: { "blocked.dns": 2 } });
  });

  it("one answer per account: a new one replaces the old, visible at the next read", async () => {
    // With merges stopped, only FINAL at read time can keep one answer per account.
    await origin.services.db.client.command({ query: "SYSTEM STOP MERGES msmt_feedback" });
    expect((await give(who.owner, "ok")).status).toBe(200);
    expect((await read(UID)).json).toEqual({ summary: { "blocked.dns": 1, ok: 1 } });
    expect((await read(UID, who.owner)).json).toEqual({ summary: { "blocked.dns": 1, ok: 1 }, user_feedback: "ok" });
    expect((await read(UID, who.admin)).json.user_feedback).toBe("blocked.dns");
    expect((await read(UID, who.other)).json.user_feedback).toBeUndefined();
    expect((await give(who.owner, "down.unreachable")).status).toBe(200);
    expect((await read(UID, who.owner)).json).toEqual({ summary: { "blocked.dns": 1, "down.unreachable": 1 }, user_feedback: "down.unreachable" });
    // The replaced answers are still stored (no merge yet): FINAL is what counts the newest only.
    const [raw] = await queryRows<{ n: number }>(origin.services.db, "SELECT count() AS n FROM msmt_feedback WHERE measurement_uid = {u:String}", { u: UID });
    expect(Number(raw!.n)).toBe(4);
    await origin.services.db.client.command({ query: "SYSTEM START MERGES msmt_feedback" });
    // Feedback is per measurement.
    expect((await read(UID2, who.owner)).json).toEqual({ summary: {} });
  });

  it("accepts exactly the legacy statuses", async () => {
    for (const status of FEEDBACK_STATUSES) expect((await give(who.other, status, UID2)).status, status).toBe(200);
    expect((await read(UID2, who.other)).json).toEqual({ summary: { "down.misconfigured": 1 }, user_feedback: "down.misconfigured" });
    for (const status of ["", "BLOCKED", "blocked.http", "fine", "ok "]) {
      const r = await give(who.other, status, UID2);
      expect(r.status, status).toBe(400);
      expect(r.json.parameter).toBe("status");
    }
  });

  it("bad measurement_uid or body → 400 naming it", async () => {
    for (const uid of ["x", "20240214090617_IT_web_0123", "../../etc/passwd"]) {
      const r = await give(who.owner, "ok", uid);
      expect(r.status, uid).toBe(400);
      expect(r.json.parameter).toBe("measurement_uid");
      expect((await read(encodeURIComponent(uid))).status, uid).toBe(400);
    }
    const missing = await req("POST", "/api/_/measurement_feedback", { bearer: who.owner, body: { status: "ok" } });
    expect(missing.json.parameter).toBe("measurement_uid");
    expect((await req("POST", "/api/_/measurement_feedback", { bearer: who.owner, body: "{" })).status).toBe(400);
  });

  it("is never cached", async () => {
    expect((await read(UID)).headers.get("cache-control")).toBe("no-store");
    expect((await give(who.owner, "ok")).headers.get("cache-control")).toBe("no-store");
  });
});
