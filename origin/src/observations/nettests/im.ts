import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { dnsObservations, httpObservations, netEvents, tcpObservations, tlsObservations } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";
import { assignTargetIds } from "./targets";

// telegram, whatsapp and facebook_messenger → obs_web, each row tagged with the platform's target
// (targets.ts). facebook_messenger reports only DNS and TCP. (signal: signal.ts, for its roots.)

function imObservations(platform: "telegram" | "whatsapp", msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const tk = ctx.tk;
  const rows = webRowsOf(ctx);
  const web = rows.consume({
    dns: dnsObservations(arr(tk.queries)),
    tcp: tcpObservations(arr(tk.tcp_connect)),
    tls: tlsObservations(arr(tk.tls_handshakes), netEvents(arr(tk.network_events))),
    http: httpObservations(arr(tk.requests)),
  });
  assignTargetIds(platform, web);
  return webOnly(ctx, rows.rows);
}

export const telegramObservations = (msm: Dict, opts: TransformOptions) => imObservations("telegram", msm, opts);
export const whatsappObservations = (msm: Dict, opts: TransformOptions) => imObservations("whatsapp", msm, opts);

export function facebookMessengerObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts, false);
  const rows = webRowsOf(ctx);
  const web = rows.consume({ dns: dnsObservations(arr(ctx.tk.queries)), tcp: tcpObservations(arr(ctx.tk.tcp_connect)) });
  assignTargetIds("facebook_messenger", web);
  return webOnly(ctx, rows.rows);
}
