import type { WebObservationRow } from "../observations/rows";
import { calendarDay, hostKey, ipFamily, type HostTruth, type TruthView } from "./ground-truth";
import { DNS_RULES, RULES_VERSION, TCP_RULES, TLS_RULES, runLayer, type LayerVerdict, type RowInputs } from "./rules";

// The web analysis in TypeScript, for measurements whose observation rows were just built: the
// same computation as the INSERT … SELECT in query.ts (upstream's analysis/web_analysis.py), row
// for row, so the live pipeline hands ClickHouse plain INSERTs. Per observation row: the system
// resolver's answers of its measurement (per hostname and address family) against the ground
// truth of its hostname and day, the DNS blockpage fingerprints, the report's IPv6 failure rate;
// then the three rule cascades; per measurement the maxima and the rule that drove each layer.

/** A DNS fingerprint matched by equality (pattern_type 'full'). */
export interface DnsFingerprintMatch {
  countries: readonly string[];
  scope: string;
}

export interface AnalysisInputs {
  truth: TruthView;
  fingerprint(answer: string): DnsFingerprintMatch | undefined;
}

/** A row of analysis_web_measurement (table.ts). */
export interface WebAnalysisRow {
  domain: string;
  input: string;
  test_name: string;
  probe_asn: number;
  probe_as_org_name: string;
  probe_cc: string;
  resolver_asn: number;
  resolver_as_cc: string;
  network_type: string;
  measurement_start_time: string;
  measurement_uid: string;
  ooni_run_link_id: string;
  top_probe_analysis: string | null;
  top_dns_failure: string | null;
  top_tcp_failure: string | null;
  top_tls_failure: string | null;
  dns_blocked: number;
  dns_down: number;
  dns_ok: number;
  tcp_blocked: number;
  tcp_down: number;
  tcp_ok: number;
  tls_blocked: number;
  tls_down: number;
  tls_ok: number;
  top_dns_rule_id: string;
  top_tcp_rule_id: string;
  top_tls_rule_id: string;
  probe_id: string;
  analysis_rules_version: number;
}

/** ClickHouse's domain(): the host of a URL (scheme, userinfo, port, path stripped). */
export function urlDomain(url: string): string {
  let s = url;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(s);
  if (scheme) s = s.slice(scheme[0].length);
  else if (s.startsWith("//")) s = s.slice(2);
  const end = s.search(/[/?#]/);
  if (end >= 0) s = s.slice(0, end);
  const at = s.lastIndexOf("@");
  if (at >= 0) s = s.slice(at + 1);
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    return close >= 0 ? s.slice(0, close + 1) : s;
  }
  const colon = s.indexOf(":");
  return colon >= 0 ? s.slice(0, colon) : s;
}

/** ClickHouse anyHeavy: the majority vote (Boyer–Moore) over the non-NULL values, in row order. */
class Heavy {
  value: string | null = null;
  private count = 0;
  add(v: string | null): void {
    if (v === null) return;
    if (this.count > 0 && v === this.value) this.count++;
    else if (this.count === 0) {
      this.value = v;
      this.count = 1;
    } else this.count--;
  }
}

/** argMax(rule_id, (evidence, blocked, rule_id)). */
function better(a: LayerVerdict, b: LayerVerdict | null): boolean {
  if (b === null) return true;
  if (a.evidence !== b.evidence) return a.evidence > b.evidence;
  if (a.blocked !== b.blocked) return a.blocked > b.blocked;
  return a.rule_id > b.rule_id;
}

interface Answers {
  answers: Set<string>;
  count: number;
  asns: Set<number>;
  bogon: number;
}

const hasAny = <T>(set: { has(x: T): boolean }, xs: Iterable<T>) => {
  for (const x of xs) if (set.has(x)) return true;
  return false;
};

/** Map lookups as ClickHouse's m[key]: NULL for a NULL key, the default 0 for a missing one. */
const at = (m: ReadonlyMap<string, number> | undefined, ip: string | null) => (ip === null ? null : (m?.get(ip) ?? 0));

function rate(ok: ReadonlyMap<string, number> | undefined, bad: ReadonlyMap<string, number> | undefined, ip: string | null): number | null {
  if (ip === null) return null;
  const o = ok?.get(ip) ?? 0;
  const b = bad?.get(ip) ?? 0;
  // Map(String, Float32) in the SQL.
  return o + b === 0 ? 0 : Math.fround(o / (o + b));
}

/**
 * The analysis row of one web_connectivity measurement from its obs_web rows (in observation
 * order); null when it has none.
 */
export function analyseMeasurement(rows: readonly WebObservationRow[], inputs: AnalysisInputs): WebAnalysisRow | null {
  const web = rows.filter((r) => r.test_name === "web_connectivity");
  const first = web[0];
  if (!first) return null;

  // The system resolver's answers per (hostname, address family): PARTITION BY in the SQL.
  const families = web.map((r) => ipFamily(r.ip));
  const partitions = new Map<string, Answers>();
  const partitionOf = (r: WebObservationRow, fam: { v6: number } | null) => `${r.hostname === null ? "\u0000" : `=${r.hostname}`}|${fam === null ? "n" : fam.v6}`;
  web.forEach((r, i) => {
    const fam = families[i]!;
    const key = partitionOf(r, fam);
    let p = partitions.get(key);
    if (!p) partitions.set(key, (p = { answers: new Set(), count: 0, asns: new Set(), bogon: 0 }));
    const system = (r.dns_engine === "getaddrinfo" || r.dns_engine === "system") && fam !== null && (fam.v4 === 1 || fam.v6 === 1);
    if (!system) return;
    if (r.dns_answer !== null) {
      p.answers.add(r.dns_answer);
      p.count++;
    }
    if (r.ip_asn !== null) p.asns.add(r.ip_asn);
    if (r.ip_is_bogon !== null && r.ip_is_bogon > p.bogon) p.bogon = r.ip_is_bogon;
  });

  const heavy = { probe: new Heavy(), dns: new Heavy(), tcp: new Heavy(), tls: new Heavy() };
  const max = { dns_blocked: 0, dns_down: 0, dns_ok: 0, tcp_blocked: 0, tcp_down: 0, tcp_ok: 0, tls_blocked: 0, tls_down: 0, tls_ok: 0 };
  const top: { dns: LayerVerdict | null; tcp: LayerVerdict | null; tls: LayerVerdict | null } = { dns: null, tcp: null, tls: null };
  const day = calendarDay(first.measurement_start_time);
  const v6 = inputs.truth.report(first.report_id);
  const tcpIpv6FailureRate = v6 ? v6.fail / (v6.ok + v6.fail) : NaN;

  web.forEach((r, i) => {
    const fam = families[i]!;
    const p = partitions.get(partitionOf(r, fam))!;
    const h: HostTruth | undefined = r.hostname === null ? undefined : inputs.truth.host(hostKey(day, r.hostname));
    const ctrl = h?.hasCtrl ? h : undefined; // no control rows: the join's defaults (empty, 0, 0/0)
    const fp = r.dns_answer === null ? undefined : inputs.fingerprint(r.dns_answer);
    const x: RowInputs = {
      dns_engine: r.dns_engine,
      dns_failure: r.dns_failure,
      dns_answers_count: p.count,
      dns_blocking_country_consistent: fp !== undefined && fp.scope !== "fp" && fp.countries.includes(r.probe_cc),
      dns_tls_consistent: ctrl !== undefined && (hasAny(ctrl.tlsOk, p.answers) || hasAny(ctrl.validTlsIps, p.answers)),
      dns_tls_inconsistent: ctrl !== undefined && hasAny(ctrl.tlsInconsistent, p.answers),
      dns_answer_matches_ctrl: ctrl !== undefined && hasAny(ctrl.dnsAnswers, p.answers),
      dns_answer_asn_matches_ctrl: ctrl !== undefined && hasAny(ctrl.dnsAsns, p.asns),
      dns_answers_contain_bogon: p.bogon,
      ctrl_dns_success_rate: ctrl ? ctrl.dnsSuccesses / (ctrl.dnsFailures + ctrl.dnsSuccesses) : NaN,
      tcp_success: r.tcp_success,
      tcp_failure: r.tcp_failure,
      ip_is_v6: fam === null ? null : fam.v6,
      tcp_ipv6_failure_rate: tcpIpv6FailureRate,
      ctrl_tcp_success_rate: rate(ctrl?.tcpOk, ctrl?.tcpFail, r.ip),
      ctrl_tcp_success_count: at(ctrl?.tcpOk, r.ip),
      ctrl_tcp_failing_count: at(ctrl?.tcpFail, r.ip),
      tls_is_certificate_valid: r.tls_is_certificate_valid,
      tls_failure: r.tls_failure,
      ctrl_tls_success_rate: rate(ctrl?.tlsOk, ctrl?.tlsFail, r.ip),
      ctrl_tls_success_count: at(ctrl?.tlsOk, r.ip),
      ctrl_tls_failing_count: at(ctrl?.tlsFail, r.ip),
      dns_blocked: 0,
      dns_down: 0,
      dns_ok: 0,
      tcp_blocked: 0,
      tcp_down: 0,
      tcp_ok: 0,
    };
    const dns = runLayer(DNS_RULES, x);
    x.dns_blocked = dns.blocked;
    x.dns_down = dns.down;
    x.dns_ok = dns.ok;
    const tcp = runLayer(TCP_RULES, x);
    x.tcp_blocked = tcp.blocked;
    x.tcp_down = tcp.down;
    x.tcp_ok = tcp.ok;
    const tls = runLayer(TLS_RULES, x);

    heavy.probe.add(r.probe_analysis);
    heavy.dns.add(r.dns_failure);
    heavy.tcp.add(r.tcp_failure);
    heavy.tls.add(r.tls_failure);
    max.dns_blocked = Math.max(max.dns_blocked, dns.blocked);
    max.dns_down = Math.max(max.dns_down, dns.down);
    max.dns_ok = Math.max(max.dns_ok, dns.ok);
    max.tcp_blocked = Math.max(max.tcp_blocked, tcp.blocked);
    max.tcp_down = Math.max(max.tcp_down, tcp.down);
    max.tcp_ok = Math.max(max.tcp_ok, tcp.ok);
    max.tls_blocked = Math.max(max.tls_blocked, tls.blocked);
    max.tls_down = Math.max(max.tls_down, tls.down);
    max.tls_ok = Math.max(max.tls_ok, tls.ok);
    if (better(dns, top.dns)) top.dns = dns;
    if (better(tcp, top.tcp)) top.tcp = tcp;
    if (better(tls, top.tls)) top.tls = tls;
  });

  const input = first.input ?? "";
  return {
    domain: urlDomain(input),
    input,
    test_name: first.test_name,
    probe_asn: first.probe_asn,
    probe_as_org_name: first.probe_as_org_name,
    probe_cc: first.probe_cc,
    resolver_asn: first.resolver_asn,
    resolver_as_cc: first.resolver_as_cc,
    network_type: first.network_type,
    measurement_start_time: first.measurement_start_time,
    measurement_uid: first.measurement_uid,
    ooni_run_link_id: first.ooni_run_link_id,
    top_probe_analysis: heavy.probe.value,
    top_dns_failure: heavy.dns.value,
    top_tcp_failure: heavy.tcp.value,
    top_tls_failure: heavy.tls.value,
    ...max,
    top_dns_rule_id: top.dns!.rule_id,
    top_tcp_rule_id: top.tcp!.rule_id,
    top_tls_rule_id: top.tls!.rule_id,
    probe_id: first.probe_id,
    analysis_rules_version: RULES_VERSION,
  };
}
