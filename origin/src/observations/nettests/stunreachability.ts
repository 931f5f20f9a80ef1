import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { dnsObservations } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";

// stunreachability → obs_web: only the resolution of the STUN server's name is a web observation.

export function stunreachabilityObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const rows = webRowsOf(ctx);
  rows.consume({ dns: dnsObservations(arr(ctx.tk.queries)) });
  return webOnly(ctx, rows.rows);
}
