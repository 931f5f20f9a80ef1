import type { MeasurementObservations } from "../rows";
import { dict, type Dict } from "../values";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";
import { urlgetterParts } from "./urlgetter";

// tor → obs_web: each target (directory authority, OR port, obfs4 bridge…) paired on its own, its
// rows tagged with the target's id from the measurement.

export function torObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts, false);
  const rows = webRowsOf(ctx);
  for (const [targetId, target] of Object.entries(dict(ctx.tk.targets) ?? {})) rows.consume(urlgetterParts(dict(target) ?? {}), targetId);
  return webOnly(ctx, rows.rows);
}
