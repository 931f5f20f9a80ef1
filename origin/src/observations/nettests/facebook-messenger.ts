import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { dnsObservations, tcpObservations } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";
import { assignTargetIds } from "./targets";

// facebook_messenger → obs_web: it reports only DNS and TCP; rows tagged with the Facebook
// endpoint they belong to (targets.ts). Upstream models its test keys without client_resolver.

export function facebookMessengerObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts, false);
  const rows = webRowsOf(ctx);
  const web = rows.consume({ dns: dnsObservations(arr(ctx.tk.queries)), tcp: tcpObservations(arr(ctx.tk.tcp_connect)) });
  assignTargetIds("facebook_messenger", web);
  return webOnly(ctx, rows.rows);
}
