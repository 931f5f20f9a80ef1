import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { observe, OBS_HTTP_MIDDLEBOX_COLUMNS, type MeasurementObservations } from "../../../origin/src/observations";
import { ObservationWriter } from "../../../origin/src/observations/writer";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { useTempDb } from "../../support/temp-db";

// The other tests' rows written to embedded ClickHouse by the writer the fastpath and
// `fastpath reprocess` share: middlebox tests into obs_http_middlebox (migration 8, upstream's
// columns), the rest into obs_web, and no web analysis for them.

const suite = corpusAvailable ? describe : describe.skip;
let db: Database;
useTempDb("obs-nettests-writer", (d) => (db = d));


function observed(file: string, uid: string): MeasurementObservations {
  const r = observe(JSON.parse(readFileSync(corpusPath("measurements", file), "utf8")) as Record<string, unknown>, uid);
  if (r.kind !== "ok") throw new Error(`${file}: ${JSON.stringify(r)}`);
  return r.observations;
}

describe("obs_http_middlebox", () => {
  it("has upstream's columns, in upstream's order", async () => {
    const cols = await queryRows<{ name: string; type: string }>(db, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'obs_http_middlebox' ORDER BY position");
    expect(cols.map((c) => [c.name, c.type])).toEqual(OBS_HTTP_MIDDLEBOX_COLUMNS);
  });
});

suite("writing the other tests' observations", () => {
  it("middlebox rows go to obs_http_middlebox, signal's to obs_web; only web_connectivity is analysed", async () => {
    const hirl = "20240102000000.000001_PT_httpinvalidrequestline_0000000000000001";
    const hfm = "20240102000000.000002_IT_httpheaderfieldmanipulation_0000000000000002";
    const signal = "20240102000000.000003_IT_signal_0000000000000003";
    const batch = [observed("mbx-1.json", hirl), observed("http_header_field_manipulation_1.json", hfm), observed("signal_022.json", signal)];
    await new ObservationWriter(db, null).write(batch);
    // A retried batch writes the same rows again: reads with FINAL see them once.
    await new ObservationWriter(db, null).write(batch);

    const mb = await queryRows<Record<string, unknown>>(db, "SELECT * FROM obs_http_middlebox FINAL ORDER BY measurement_uid");
    expect(mb.map((r) => [r.measurement_uid, r.test_name, r.observation_idx, r.hirl_success, r.hirl_failure, r.hfm_success, r.hfm_failure])).toEqual([
      [hirl, "http_invalid_request_line", 1, 1, null, null, null],
      [hfm, "http_header_field_manipulation", 1, null, null, 0, "missing_requests"],
    ]);
    expect(mb[0]).toMatchObject({ hirl_sent_3: "GET / HTTP/D9S", probe_cc: "PT", measurement_start_time: "2019-04-11 19:20:30.000" });
    expect(mb[0]!.created_at).not.toBeNull();

    const web = await queryRows<{ n: string; targets: string }>(db, "SELECT count() AS n, toString(groupUniqArray(target_id)) AS targets FROM obs_web FINAL WHERE measurement_uid = {u:String}", { u: signal });
    expect(Number(web[0]!.n)).toBe(batch[2]!.web.length);
    expect(web[0]!.targets).toContain("signal/chat");
    const analysed = await queryRows<{ n: string }>(db, "SELECT count() AS n FROM analysis_web_measurement");
    expect(Number(analysed[0]!.n)).toBe(0);
  });
});
