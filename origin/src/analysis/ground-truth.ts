import { isIP } from "node:net";
import type { WebControlObservationRow, WebObservationRow } from "../observations/rows";

// The ground truth the web analysis compares a probe's observations with, kept in memory: per
// hostname and day, what the control (obs_web_ctrl) saw — addresses it resolved and their ASNs,
// TCP and TLS successes and failures per address — and the addresses where a probe's TLS handshake
// validated (obs_web); per report, how its IPv6 connects went. The same aggregates as the
// `groundTruth` and window parts of query.ts, built from rows instead of by ClickHouse.
//
// Keys follow the SQL exactly: a window is upstream's batch day (day, next day]; inside it hosts
// are keyed by the calendar day of measurement_start_time (they differ for rows at exactly
// midnight) and hostname.

export interface HostTruth {
  /** The control observed the hostname that day (the ground truth row exists: LEFT side of the SQL join). */
  hasCtrl: boolean;
  dnsFailures: number;
  dnsSuccesses: number;
  dnsAnswers: Set<string>;
  dnsAsns: Set<number>;
  tlsInconsistent: Set<string>;
  tlsOk: Map<string, number>;
  tlsFail: Map<string, number>;
  tcpOk: Map<string, number>;
  tcpFail: Map<string, number>;
  /** Addresses where any probe's certificate validated (obs_web). */
  validTlsIps: Set<string>;
}

export interface ReportIpv6 {
  fail: number;
  ok: number;
}

/** The ground truth of one window (a batch day). */
export interface WindowTruth {
  hosts: Map<string, HostTruth>;
  reports: Map<string, ReportIpv6>;
  /**
   * The measurements counted in: rows of a measurement stored again (a retried batch after a
   * restart, `fastpath reprocess`) replace the stored ones in ClickHouse (FINAL), so they must not
   * be counted twice here.
   */
  measurements: Set<string>;
}

export const emptyWindow = (): WindowTruth => ({ hosts: new Map(), reports: new Map(), measurements: new Set() });

const emptyHost = (): HostTruth => ({
  hasCtrl: false,
  dnsFailures: 0,
  dnsSuccesses: 0,
  dnsAnswers: new Set(),
  dnsAsns: new Set(),
  tlsInconsistent: new Set(),
  tlsOk: new Map(),
  tlsFail: new Map(),
  tcpOk: new Map(),
  tcpFail: new Map(),
  validTlsIps: new Set(),
});

/** "YYYY-MM-DD" of a ClickHouse DateTime64 text ("YYYY-MM-DD HH:MM:SS.mmm"). */
export const calendarDay = (t: string) => t.slice(0, 10);

/** The batch window a start time belongs to, by its first day: (day 00:00, next day 00:00]. */
export function windowDay(t: string): string {
  if (!/ 00:00:00(\.0+)?$/.test(t)) return t.slice(0, 10);
  const d = new Date(`${t.slice(0, 10)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

export const hostKey = (day: string, hostname: string) => `${day} ${hostname}`;

/** ClickHouse isIPv4String / isIPv6String (no zone ids). null for a NULL address. */
export function ipFamily(ip: string | null): { v4: number; v6: number } | null {
  if (ip === null) return null;
  const f = ip.includes("%") ? 0 : isIP(ip);
  return { v4: f === 4 ? 1 : 0, v6: f === 6 ? 1 : 0 };
}

function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

/** The entry of a hostname and day, created empty. */
export function host(w: WindowTruth, key: string): HostTruth {
  let h = w.hosts.get(key);
  if (!h) w.hosts.set(key, (h = emptyHost()));
  return h;
}

/** One control observation (a row of obs_web_ctrl). */
export function addControlRow(w: WindowTruth, r: WebControlObservationRow): void {
  const h = host(w, hostKey(calendarDay(r.measurement_start_time), r.hostname));
  h.hasCtrl = true;
  if (r.dns_failure !== null) h.dnsFailures++;
  if (r.dns_success === 1) {
    h.dnsSuccesses++;
    h.dnsAnswers.add(r.ip);
    if (r.ip_asn !== null && r.ip_asn !== 0) h.dnsAsns.add(r.ip_asn);
  }
  if (r.tls_success === 1) bump(h.tlsOk, r.ip);
  if (r.tls_success === 0 && r.tls_failure !== null) {
    bump(h.tlsFail, r.ip);
    // SQL LIKE 'ssl_%': "_" matches any one character.
    if (/^ssl./s.test(r.tls_failure)) h.tlsInconsistent.add(r.ip);
  }
  if (r.tcp_success === 1) bump(h.tcpOk, r.ip);
  if (r.tcp_success === 0) bump(h.tcpFail, r.ip);
}

/** One probe observation (a row of obs_web): validated TLS addresses, and its report's IPv6 connects. */
export function addWebRow(w: WindowTruth, r: WebObservationRow): void {
  if (r.tls_is_certificate_valid === 1 && r.hostname !== null && r.ip !== null) {
    host(w, hostKey(calendarDay(r.measurement_start_time), r.hostname)).validTlsIps.add(r.ip);
  }
  if (r.test_name !== "web_connectivity") return;
  if (ipFamily(r.ip)?.v6 !== 1) return;
  const fail = r.tcp_failure !== null ? 1 : 0;
  const ok = r.tcp_success === 1 ? 1 : 0;
  if (fail + ok > 0) addReport(w, r.report_id, fail, ok);
}

export function addReport(w: WindowTruth, reportId: string, fail: number, ok: number): void {
  const c = w.reports.get(reportId);
  if (c) {
    c.fail += fail;
    c.ok += ok;
  } else w.reports.set(reportId, { fail, ok });
}

function mergeHost(into: HostTruth, from: HostTruth): void {
  into.hasCtrl ||= from.hasCtrl;
  into.dnsFailures += from.dnsFailures;
  into.dnsSuccesses += from.dnsSuccesses;
  for (const x of from.dnsAnswers) into.dnsAnswers.add(x);
  for (const x of from.dnsAsns) into.dnsAsns.add(x);
  for (const x of from.tlsInconsistent) into.tlsInconsistent.add(x);
  for (const [k, n] of from.tlsOk) bump(into.tlsOk, k, n);
  for (const [k, n] of from.tlsFail) bump(into.tlsFail, k, n);
  for (const [k, n] of from.tcpOk) bump(into.tcpOk, k, n);
  for (const [k, n] of from.tcpFail) bump(into.tcpFail, k, n);
  for (const x of from.validTlsIps) into.validTlsIps.add(x);
}

/** Adds `delta` into `base` (a written batch joins the window's ground truth). */
export function mergeWindow(base: WindowTruth, delta: WindowTruth): void {
  for (const [k, h] of delta.hosts) mergeHost(host(base, k), h);
  for (const [id, c] of delta.reports) addReport(base, id, c.fail, c.ok);
  for (const uid of delta.measurements) base.measurements.add(uid);
}

/** What the analysis looks up. */
export interface TruthView {
  host(key: string): HostTruth | undefined;
  report(reportId: string): ReportIpv6 | undefined;
}

export const viewOf = (w: WindowTruth): TruthView => ({ host: (k) => w.hosts.get(k), report: (id) => w.reports.get(id) });

/**
 * `base` with `delta` on top, without changing `base`: what a batch is analysed with before it is
 * written (its own rows count, as they do in the SQL, where they are inserted first).
 */
export function overlay(base: WindowTruth | undefined, delta: WindowTruth): TruthView {
  if (!base) return viewOf(delta);
  const top = emptyWindow();
  for (const [k, h] of delta.hosts) {
    const merged = emptyHost();
    const b = base.hosts.get(k);
    if (b) mergeHost(merged, b);
    mergeHost(merged, h);
    top.hosts.set(k, merged);
  }
  for (const [id, c] of delta.reports) {
    const b = base.reports.get(id);
    top.reports.set(id, { fail: c.fail + (b?.fail ?? 0), ok: c.ok + (b?.ok ?? 0) });
  }
  return { host: (k) => top.hosts.get(k) ?? base.hosts.get(k), report: (id) => top.reports.get(id) ?? base.reports.get(id) };
}
