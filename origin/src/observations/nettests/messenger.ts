import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { dnsObservations, httpObservations, netEvents, tcpObservations, tlsObservations, type ChainValidation } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";
import { assignTargetIds, type Platform } from "./targets";

// The instant-messaging tests that report DNS, TCP, TLS and HTTP parts (telegram, whatsapp,
// signal): their parts paired into obs_web rows, each row tagged with the platform's target it
// belongs to (targets.ts). Only how a TLS chain is judged differs between them (signal's roots),
// so that is the one thing a caller passes.

export function messengerObservations(
  platform: Exclude<Platform, "facebook_messenger">,
  msm: Dict,
  opts: TransformOptions,
  chains?: (startTime: Date) => ChainValidation,
): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const tk = ctx.tk;
  const rows = webRowsOf(ctx);
  const web = rows.consume({
    dns: dnsObservations(arr(tk.queries)),
    tcp: tcpObservations(arr(tk.tcp_connect)),
    tls: tlsObservations(arr(tk.tls_handshakes), netEvents(arr(tk.network_events)), chains?.(ctx.startTime)),
    http: httpObservations(arr(tk.requests)),
  });
  assignTargetIds(platform, web);
  return webOnly(ctx, rows.rows);
}
