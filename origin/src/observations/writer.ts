import type { Database } from "../db/clickhouse";
import { LiveAnalysis } from "../analysis/live";
import { insertTabSeparated } from "../db/tab-separated";
import { ANALYSIS_COLUMNS } from "../analysis/table";
import { enrichObservations, type IpLookup } from "./enrich";
import { OBS_HTTP_MIDDLEBOX_COLUMNS, OBS_WEB_COLUMNS, OBS_WEB_CTRL_COLUMNS } from "./columns";
import { chTime, type MeasurementObservations } from "./rows";

// Writes a batch of measurements' observations and their web analysis. Called by the fastpath's
// row sink before it inserts the batch's fastpath rows (fastpath/pipeline/store.ts), so observations
// and analysis share the fastpath's batching, retries and backpressure, and "scored" implies
// "observed and analysed": a failure fails the batch and the whole batch is retried (harmless: the
// tables are ReplacingMergeTrees keyed by measurement, reads use FINAL). The analysis is computed
// here, in-process, from the rows just built (analysis/live.ts): ClickHouse only receives INSERTs.

const WEB_NAMES = OBS_WEB_COLUMNS.map(([n]) => n) as [string, ...string[]];
const CTRL_NAMES = OBS_WEB_CTRL_COLUMNS.map(([n]) => n) as [string, ...string[]];
const ANALYSIS_NAMES = ANALYSIS_COLUMNS.map(([n]) => n) as [string, ...string[]];
const MIDDLEBOX_NAMES = OBS_HTTP_MIDDLEBOX_COLUMNS.map(([n]) => n) as [string, ...string[]];

/**
 * Rows as arrays in column order, for the middlebox table: its few rows (two tests, one row per
 * measurement) do not need the TabSeparated path the web rows take.
 */
async function insertCompact(db: Database, table: string, columns: [string, ...string[]], rows: readonly object[]): Promise<void> {
  const values = rows.map((r) => columns.map((c) => (r as Record<string, unknown>)[c]));
  await db.client.insert({ table, values, columns, format: "JSONCompactEachRow" });
}

export class ObservationWriter {
  private readonly analysis: LiveAnalysis;

  constructor(
    private readonly db: Database,
    private readonly geo: IpLookup | null,
  ) {
    this.analysis = new LiveAnalysis(db);
  }

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
    // Only web_connectivity has a web analysis (upstream's, too); the other tests' obs_web rows are
    // served as they are. Control rows exist only for web_connectivity.
    const analysed = await this.analysis.analyse(
      withRows.filter((o) => o.ctrl.length > 0 || o.web[0]?.test_name === "web_connectivity"),
    );
    if (ctrl.length > 0) await insertTabSeparated(this.db, "obs_web_ctrl", CTRL_NAMES, ctrl);
    if (web.length > 0) await insertTabSeparated(this.db, "obs_web", WEB_NAMES, web);
    if (analysed.rows.length > 0) await insertTabSeparated(this.db, "analysis_web_measurement", ANALYSIS_NAMES, analysed.rows);
    analysed.commit();
  }
}
