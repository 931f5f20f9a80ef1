import type { MeasurementObservations } from "../rows";
import { arr, dict, type Dict } from "../values";
import { dnsObservations } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";
import { urlgetterParts } from "./urlgetter";

// dnscheck → obs_web: the bootstrap resolution (DNS only), then each lookup (a urlgetter run
// against one resolver), observation_idx counting on across them.

export function dnscheckObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const rows = webRowsOf(ctx);
  const bootstrap = dict(ctx.tk.bootstrap);
  if (bootstrap) rows.consume({ dns: dnsObservations(arr(bootstrap.queries)) });
  for (const lookup of Object.values(dict(ctx.tk.lookups) ?? {})) rows.consume(urlgetterParts(dict(lookup) ?? {}));
  return webOnly(ctx, rows.rows);
}
