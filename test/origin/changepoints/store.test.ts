import { describe, expect, it } from "vitest";
import type { Database } from "../../../origin/src/db/clickhouse";
import { freshSeries } from "../../../origin/src/changepoints/cusum";
import { lastWindowEnd, priorStates, recordRun, writeStates } from "../../../origin/src/changepoints/store";
import { useTempDb } from "../../support/temp-db";

// The detector's state in embedded ClickHouse: where the timer resumes, and which stored state a
// run starts from.

let db: Database;
useTempDb("changepoints-store", (d) => (db = d));
const H = 3_600_000;


describe("changepoint detector state", () => {
  it("the timer resumes after the last all-country run, but never past the hour that had settled when it finished", async () => {
    expect(await lastWindowEnd(db)).toBeNull();
    await recordRun(db, new Date("2024-01-01T00:00:00Z"), new Date("2024-01-02T00:00:00Z"), [], 0, 0);
    expect(await lastWindowEnd(db)).toEqual(new Date("2024-01-02T00:00:00Z"));
    // A run for some countries only does not move it.
    await recordRun(db, new Date("2024-01-02T00:00:00Z"), new Date("2024-01-05T00:00:00Z"), ["IT"], 0, 0);
    expect(await lastWindowEnd(db)).toEqual(new Date("2024-01-02T00:00:00Z"));
    // The CLI's default range ends tomorrow: the hours not yet settled will be run again.
    const now = Date.now();
    await recordRun(db, new Date(now - 48 * H), new Date(now + 24 * H), [], 0, 0);
    const settled = Math.floor((now - 30 * 60_000) / H) * H;
    expect([settled, settled + H]).toContain((await lastWindowEnd(db))!.getTime());
  });

  it("a run starts from each series' latest state before its window; a re-written state replaces the earlier one", async () => {
    const t = Date.UTC(2024, 2, 1, 10);
    const s = (ts: number, sPos: number) => {
      const st = freshSeries("IT", 30722, "twitter.com", ts);
      st.signals.tcp_blocked = { current_state: "ok", last_change: 0, s_pos: sPos, s_neg: 0, last_ts: ts };
      return st;
    };
    await writeStates(db, [s(t, 1), s(t + H, 2)]);
    expect((await priorStates(db, new Date(t + H))).get("IT_30722_twitter.com")!.signals.tcp_blocked.s_pos).toBe(1);
    expect((await priorStates(db, new Date(t + 2 * H))).get("IT_30722_twitter.com")!.signals.tcp_blocked).toMatchObject({ s_pos: 2, last_ts: t + H, current_state: "ok" });
    await writeStates(db, [s(t + H, 3)]);
    expect((await priorStates(db, new Date(t + 2 * H))).get("IT_30722_twitter.com")!.signals.tcp_blocked.s_pos).toBe(3);
    // Older than ten days: forgotten.
    expect((await priorStates(db, new Date(t + 11 * 24 * H))).size).toBe(0);
    // Another country's filter.
    expect((await priorStates(db, new Date(t + 2 * H), ["IR"])).size).toBe(0);
  });
});
