import type { MeasurementObservations } from "../rows";
import { arr, dict, type Dict } from "../values";
import { dnsObservations, netEvents, tcpObservations, tlsObservations } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";

// echcheck → obs_web: its handshakes with and without ECH. Older versions reported them as
// `control` (no ECH) and `target` (a GREASE ECH extension) instead of a tls_handshakes list.

export function echcheckObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const tk = ctx.tk;
  const rows = webRowsOf(ctx);
  const events = netEvents(arr(tk.network_events));
  let handshakes = arr(tk.tls_handshakes);
  const control = dict(tk.control);
  const target = dict(tk.target);
  if ((!handshakes || handshakes.length === 0) && control && target) handshakes = [control, { ...target, echconfig: "GREASE" }];
  rows.consume({
    dns: dnsObservations(arr(tk.queries)),
    tcp: tcpObservations(arr(tk.tcp_connect)),
    tls: handshakes && handshakes.length > 0 ? tlsObservations(handshakes, events) : [],
  });
  return webOnly(ctx, rows.rows);
}
