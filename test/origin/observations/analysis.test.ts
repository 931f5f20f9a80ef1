import { describe, expect, it } from "vitest";
import { queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { analysisCommand } from "../../../origin/src/analysis/command";
import { AnalysisFollower } from "../../../origin/src/analysis/follower";
import { ObservationWriter } from "../../../origin/src/observations/writer";
import type { Services } from "../../../origin/src/services";
import { useTempDb } from "../../support/temp-db";
import { wcUid as uid, observed, wcMeasurement } from "./web-connectivity-fixture";

// The web analysis in embedded ClickHouse: live (ObservationWriter, per batch, ground truth so far)
// and rebuilt by `analysis reprocess` (whole days, as upstream's batch), which replaces live rows.

let db: Database;
useTempDb("analysis", (d) => (db = d));

async function analysisOf(n: number) {
  const [row] = await queryRows<Record<string, unknown>>(db, "SELECT * FROM analysis_web_measurement FINAL WHERE measurement_uid = {u:String}", { u: uid(n) });
  return row;
}

describe("web analysis", () => {
  it("live: each batch is analysed as it is written, with the LoNI values of the rule that fired", async () => {
    const w = new ObservationWriter(db, null);
    await w.write([
      observed(1, wcMeasurement(1, "a.example", { ip: "10.10.34.36", tcp: false }, ["93.184.215.1"], { blocking: true })), // bogon the control never saw
      observed(2, wcMeasurement(2, "b.example", { failure: "dns_nxdomain_error" }, ["93.184.215.2"], { blocking: true })), // NXDOMAIN, control resolves
      observed(3, wcMeasurement(3, "c.example", { ip: "93.184.215.3" }, ["93.184.215.3"], { blocking: true })), // all fine
    ]);
    expect(await analysisOf(1)).toMatchObject({ top_dns_rule_id: "bogon_not_in_ctrl", dns_blocked: 0.95, top_tcp_rule_id: "dns_untrusted", analysis_rules_version: 2 });
    expect(await analysisOf(2)).toMatchObject({ top_dns_rule_id: "dns_system_failure_ctrl_ok", dns_blocked: 0.9, top_dns_failure: "dns_nxdomain_error" });
    expect(await analysisOf(3)).toMatchObject({ top_dns_rule_id: "answer_matches_ctrl", top_tcp_rule_id: "connect_ok", tcp_ok: 1, network_type: "wifi", domain: "c.example" });
  });

  it("reprocess: a later control observation of the same day changes the verdict of an earlier measurement", async () => {
    const w = new ObservationWriter(db, null);
    // Live, the only ground truth for d.example is this measurement's own control: it never
    // resolved the probe's answer, and the ASNs are unknown, so the answer looks unmatched.
    await w.write([observed(10, wcMeasurement(10, "d.example", { ip: "93.184.215.10" }, ["93.184.215.11"], { blocking: true }))]);
    expect(await analysisOf(10)).toMatchObject({ top_dns_rule_id: "dns_system_answer_unmatched", dns_blocked: 0.75 });
    // Later that day another probe's control resolves that address too.
    await w.write([observed(11, wcMeasurement(11, "d.example", { ip: "93.184.215.10" }, ["93.184.215.10"], { blocking: true }))]);
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(`ERR ${t}`), interactive: false };
    const services = { db } as unknown as Services;
    expect(await analysisCommand.runWith(services, ["reprocess", "--since", "2024-05-01", "--until", "2024-05-02"], io, new AbortController().signal)).toBe(0);
    expect(out.join("")).toMatch(/\[#{24}\] 100% 1\/1 days · 5 measurements analysed/);
    expect(await analysisOf(10)).toMatchObject({ top_dns_rule_id: "answer_matches_ctrl", dns_blocked: 0, dns_ok: 0.9 });
    const [n] = await queryRows<{ n: string }>(db, "SELECT count() AS n FROM analysis_web_measurement FINAL");
    expect(Number(n!.n)).toBe(5);
  });

  it("the writer analyses in-process; the follower catches up on observations left unanalysed", async () => {
    await new ObservationWriter(db, null).write([observed(20, wcMeasurement(20, "e.example", { failure: "dns_nxdomain_error" }, ["93.184.215.20"], { blocking: true }))]);
    expect(await analysisOf(20)).toMatchObject({ top_dns_rule_id: "dns_system_failure_ctrl_ok" });
    const follower = new AnalysisFollower(db, { intervalMs: 50 });
    try {
      // Observations written by a process that stopped before analysing them:
      const o = observed(21, wcMeasurement(21, "f.example", { ip: "93.184.215.21" }, ["93.184.215.21"], { blocking: true }));
      for (const r of [...o.web, ...o.ctrl]) r.created_at = "2024-05-01 10:00:01.000";
      await db.client.insert({ table: "obs_web_ctrl", values: o.ctrl, format: "JSONEachRow" });
      await db.client.insert({ table: "obs_web", values: o.web, format: "JSONEachRow" });
      expect(await analysisOf(21)).toBeUndefined();
      expect(await follower.catchUp("2024-05-01")).toBe(1); // the receipt day, from the uid
      await follower.idle();
      expect(await analysisOf(21)).toMatchObject({ top_dns_rule_id: "answer_matches_ctrl" });
      expect(follower.analysed).toBe(1);
    } finally {
      await follower.stop();
    }
  });

  it("the daily `analysis` timer job rebuilds yesterday and the day before", async () => {
    const { JOBS } = await import("../../../origin/src/timers/jobs");
    const services = { db } as unknown as Services;
    expect(await JOBS.analysis.run(services, new AbortController().signal)).toBe("analysis: 2 days, 0 measurements analysed");
  });

  it("reprocess refuses bad arguments with its usage", async () => {
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t), interactive: false };
    const services = { db } as unknown as Services;
    for (const args of [["reprocess"], ["reprocess", "--since", "2024-13-01"], ["redo", "--since", "2024-05-01"], ["reprocess", "--since", "2024-05-02", "--until", "2024-05-01"], ["reprocess", "--since", "2024-05-01", "--probe-cc", "italy"]]) {
      expect(await analysisCommand.runWith(services, args, io, new AbortController().signal), args.join(" ")).toBe(2);
    }
    expect(out.join("")).toContain("usage: npm run cli -- analysis reprocess");
  });
});
