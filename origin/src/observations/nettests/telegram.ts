import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { dnsObservations, httpObservations, netEvents, tcpObservations, tlsObservations } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";
import { assignTargetIds } from "./targets";

// telegram → obs_web: its DNS, TCP, TLS and HTTP parts paired into rows, each row tagged with the
// Telegram target it belongs to (targets.ts).

export function telegramObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const tk = ctx.tk;
  const rows = webRowsOf(ctx);
  const web = rows.consume({
    dns: dnsObservations(arr(tk.queries)),
    tcp: tcpObservations(arr(tk.tcp_connect)),
    tls: tlsObservations(arr(tk.tls_handshakes), netEvents(arr(tk.network_events))),
    http: httpObservations(arr(tk.requests)),
  });
  assignTargetIds("telegram", web);
  return webOnly(ctx, rows.rows);
}
