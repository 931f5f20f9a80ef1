import type { Database } from "../db/clickhouse";
import type { AnalysisFollower } from "../analysis/follower";
import { dayWindows, runWebAnalysis } from "../analysis/store";
import { enrichObservations, type IpLookup } from "./enrich";
import { OBS_HTTP_MIDDLEBOX_COLUMNS, OBS_WEB_COLUMNS, OBS_WEB_CTRL_COLUMNS } from "./columns";
import { chTime, type MeasurementObservations } from "./rows";

// Writes a batch of measurements' observations, then has them analysed. Called by the fastpath's
// row sink before it inserts the batch's fastpath rows (fastpath/pipeline/store.ts), so observations
// share the fastpath's batching, retries and backpressure, and "scored" implies "observed": a
// failure fails the batch and the whole batch is retried (harmless: the tables are
// ReplacingMergeTrees keyed by measurement, reads use FINAL). The analysis is handed to the live
// pipeline's AnalysisFollower (coalesced, a step behind); without one (CLI reprocessing) it runs
// here, per batch.

const WEB_NAMES = OBS_WEB_COLUMNS.map(([n]) => n) as [string, ...string[]];
const CTRL_NAMES = OBS_WEB_CTRL_COLUMNS.map(([n]) => n) as [string, ...string[]];
const MIDDLEBOX_NAMES = OBS_HTTP_MIDDLEBOX_COLUMNS.map(([n]) => n) as [string, ...string[]];

/** Rows as arrays in column order: ClickHouse parses these about twice as fast as JSON objects. */
async function insertCompact(db: Database, table: string, columns: [string, ...string[]], rows: readonly object[]): Promise<void> {
  const values = rows.map((r) => columns.map((c) => (r as Record<string, unknown>)[c]));
  await db.client.insert({ table, values, columns, format: "JSONCompactEachRow" });
}

export class ObservationWriter {
  constructor(
    private readonly db: Database,
    private readonly geo: IpLookup | null,
    private readonly follower: AnalysisFollower | null = null,
  ) {}

  async write(batch: readonly MeasurementObservations[]): Promise<void> {
    const middlebox = batch.filter((o) => o.middlebox.length > 0).flatMap((o) => {
      enrichObservations(o, this.geo);
      return o.middlebox;
    });
    if (middlebox.length > 0) {
      const now = chTime(new Date());
      for (const r of middlebox) r.created_at ??= now;
      await insertCompact(this.db, "obs_http_middlebox", MIDDLEBOX_NAMES, middlebox);
    }
    const withRows = batch.filter((o) => o.web.length > 0 || o.ctrl.length > 0);
    if (withRows.length === 0) return;
    const now = chTime(new Date());
    for (const o of withRows) {
      enrichObservations(o, this.geo);
      for (const r of o.web) r.created_at ??= now;
      for (const r of o.ctrl) r.created_at ??= now;
    }
    const web = withRows.flatMap((o) => o.web);
    const ctrl = withRows.flatMap((o) => o.ctrl);
    // Control rows first: the analysis of this batch reads them as ground truth.
    if (ctrl.length > 0) await insertCompact(this.db, "obs_web_ctrl", CTRL_NAMES, ctrl);
    if (web.length > 0) await insertCompact(this.db, "obs_web", WEB_NAMES, web);

    // Only web_connectivity has a web analysis (upstream's, too); the other tests' obs_web rows are served as they are.
    const analysed = withRows.filter((o) => o.web.length > 0 && o.web[0]!.test_name === "web_connectivity");
    if (analysed.length === 0) return;
    if (this.follower) {
      this.follower.enqueue(analysed.map((o) => ({ uid: o.measurement_uid, reportId: o.web[0]!.report_id, startTime: o.web[0]!.measurement_start_time })));
      return;
    }
    const uids = analysed.map((o) => o.measurement_uid);
    const reports = [...new Set(analysed.map((o) => o.web[0]!.report_id))];
    for (const w of dayWindows(analysed.map((o) => o.web[0]!.measurement_start_time))) {
      await runWebAnalysis(this.db, { since: w.since, until: w.until, reports, uids });
    }
  }
}
