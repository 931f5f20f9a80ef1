import type { MeasurementObservations } from "../rows";
import { num, str, type Dict } from "../values";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";

// browser_web → one obs_web row: the page load's outcome (http_failure: the test's `result`) and
// its duration (http_runtime: load_time_ms). Upstream leaves observation_idx at 0 here.

export function browserWebObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const row = webRowsOf(ctx).blankRow();
  row.observation_idx = 0;
  row.http_failure = str(ctx.tk.result);
  row.http_runtime = num(ctx.tk.load_time_ms);
  return webOnly(ctx, [row]);
}
