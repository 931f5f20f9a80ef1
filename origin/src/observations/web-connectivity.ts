import { fixAddress, splitNetloc, urlHostname } from "./addresses";
import { isIpBogon } from "./bogon";
import { rawFailure } from "./failure";
import { makeMeasurementMeta, makeProbeMeta } from "./meta";
import { chTime, type MeasurementMeta, type MeasurementObservations, type WebControlObservationRow } from "./rows";
import { arr, dict, int, str, type Dict } from "./values";
import type { TransformOptions } from "./nettests/context";
import { OBS_WEB_CTRL_COLUMNS } from "./columns";
import { assignAll, dnsObservations, httpObservations, netEvents, tcpObservations, tlsObservations, WebRows, webTemplate } from "./web-observations";

// web_connectivity (v0.4 and v0.5 share these test keys) → obs_web rows (web-observations.ts) and
// obs_web_ctrl rows (the test helper's view: the ground truth). A measurement the rules cannot
// take apart throws, and gets no rows, as upstream's transformer fails it.

const CTRL_DEFAULTS = Object.fromEntries(OBS_WEB_CTRL_COLUMNS.map(([name]) => [name, null])) as unknown as WebControlObservationRow;

function controlRows(msm: Dict, tk: Dict, meta: MeasurementMeta, createdAt: string | null): WebControlObservationRow[] {
  const control = dict(tk.control);
  if (tk.control_failure || !control) return [];
  if (typeof msm.input !== "string") return [];
  const hostname = urlHostname(msm.input);
  if (!hostname) return [];
  const template = assignAll({ ...CTRL_DEFAULTS }, meta);
  template.observation_idx = 0;
  template.created_at = createdAt;
  template.ip = "";
  const blank = (host: string): WebControlObservationRow => {
    const row = { ...template };
    row.hostname = host;
    return row;
  };
  const rows: WebControlObservationRow[] = [];
  const dns = dict(control.dns);
  if (dns && dns.failure) {
    const row = blank(hostname);
    row.dns_failure = rawFailure(dns.failure);
    rows.push(row);
  }
  const dnsIps = new Set((arr(dns?.addrs) ?? []).filter((a): a is string => typeof a === "string"));

  const byAddr = new Map<string, WebControlObservationRow>();
  for (const [addr, resv] of Object.entries(dict(control.tcp_connect) ?? {})) {
    let p;
    try {
      p = splitNetloc(fixAddress(addr));
    } catch {
      continue; // upstream logs an invalid address and skips it
    }
    if (!p.hostname) throw new Error("missing hostname in tcp_connect control key");
    const res = dict(resv) ?? {};
    const failure = rawFailure(res.failure);
    const row = blank(hostname);
    row.ip = p.hostname;
    row.port = p.port;
    row.tcp_failure = failure;
    row.tcp_success = failure === null ? 1 : 0;
    byAddr.set(addr, row);
  }
  for (const [addr, resv] of Object.entries(dict(control.tls_handshake) ?? {})) {
    let row = byAddr.get(addr);
    if (!row) {
      let p;
      try {
        p = splitNetloc(fixAddress(addr));
      } catch {
        continue;
      }
      if (!p.hostname) throw new Error("missing hostname in tls_handshake control key");
      // Upstream names the row after the address, not the input's hostname, and leaves ip empty.
      row = blank(p.hostname);
      row.port = p.port;
    }
    const res = dict(resv) ?? {};
    row.tls_failure = rawFailure(res.failure);
    row.tls_server_name = str(res.server_name);
    row.tls_success = row.tls_failure === null ? 1 : 0;
    byAddr.set(addr, row);
  }
  const mapped = new Set<string>();
  for (const row of byAddr.values()) {
    if (!row.ip) throw new Error("missing IP in ctrl observation");
    row.ip_is_bogon = isIpBogon(row.ip) ? 1 : 0;
    if (dnsIps.has(row.ip)) {
      row.dns_success = 1;
      mapped.add(row.ip);
    }
    rows.push(row);
  }
  for (const ip of dnsIps) {
    if (mapped.has(ip)) continue;
    const row = blank(hostname);
    row.ip = ip;
    row.dns_success = 1;
    rows.push(row);
  }

  const http = dict(control.http_request);
  if (http) {
    const row = blank(hostname);
    row.http_request_url = msm.input;
    row.http_failure = rawFailure(http.failure);
    row.http_success = row.http_failure === null ? 1 : 0;
    row.http_response_body_length = int(http.body_length);
    rows.push(row);
  }
  rows.forEach((r, i) => (r.observation_idx = i));
  return rows;
}

export type { TransformOptions };

/** Throws when the measurement cannot be taken apart (upstream fails it too). */
export function webConnectivityObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const tk = dict(msm.test_keys);
  if (!tk) throw new Error("test_keys is not an object");
  const meta = makeMeasurementMeta(msm, opts.measurementUid, opts.bucketDate);
  const probe = makeProbeMeta(msm, tk);
  // created_at is stamped by the writer: the transformation itself is a pure function.
  const createdAt = opts.now ? chTime(opts.now) : null;

  const http = httpObservations(arr(tk.requests));
  const dns = dnsObservations(arr(tk.queries));
  const tcp = tcpObservations(arr(tk.tcp_connect));
  const tls = tlsObservations(arr(tk.tls_handshakes), netEvents(arr(tk.network_events)));
  const blocking = tk.blocking;
  const probeAnalysis = blocking === false ? "false" : blocking === null || blocking === undefined ? null : String(blocking);

  // Addresses the probe tested because the control resolved them have no DNS row of their own:
  // the control's resolution names their hostname.
  const hints = new Map<string, string>();
  const inputHost = typeof msm.input === "string" ? urlHostname(msm.input) : null;
  const ctrlAddrs = arr(dict(dict(tk.control)?.dns)?.addrs);
  if (inputHost && ctrlAddrs) for (const a of ctrlAddrs) if (typeof a === "string") hints.set(a, inputHost);

  const rows = new WebRows(webTemplate(meta, probe, createdAt, probeAnalysis));
  rows.consume({ dns, tcp, tls, http }, null, hints);

  return { measurement_uid: opts.measurementUid, web: rows.rows, ctrl: controlRows(msm, tk, meta, createdAt), middlebox: [] };
}
