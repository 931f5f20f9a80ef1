import type { MeasurementObservations } from "../rows";
import { arr, type Dict } from "../values";
import { dnsObservations, httpObservations, netEvents, tcpObservations, tlsObservations, type WebParts } from "../web-observations";
import { nettestContext, webOnly, webRowsOf, type TransformOptions } from "./context";

// urlgetter → obs_web: one fetch's DNS, TCP, TLS and HTTP. Its test keys are also the shape of
// each of dnscheck's lookups (dnscheck.ts).

export function urlgetterParts(keys: Dict): WebParts {
  return {
    dns: dnsObservations(arr(keys.queries)),
    tcp: tcpObservations(arr(keys.tcp_connect)),
    tls: tlsObservations(arr(keys.tls_handshakes), netEvents(arr(keys.network_events))),
    http: httpObservations(arr(keys.requests)),
  };
}

export function urlgetterObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const rows = webRowsOf(ctx);
  rows.consume(urlgetterParts(ctx.tk));
  return webOnly(ctx, rows.rows);
}
