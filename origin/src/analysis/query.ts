import { DNS_RULES, RULES_VERSION, TCP_RULES, TLS_RULES, layerSql } from "./rules";
import { ANALYSIS_COLUMNS } from "./table";

// The web analysis as one INSERT … SELECT over obs_web and obs_web_ctrl, with upstream's semantics
// (oonipipeline analysis/web_analysis.py): per observation row, the DNS answers of its measurement
// (system resolver only) compared with the control's ground truth for that hostname and day — the
// answers the control resolved, the addresses where TLS validated, TCP/TLS success rates — and with
// the DNS blockpage fingerprints; then the rule cascades; then per measurement the maximum of each
// LoNI value and the rule that drove it.
//
// Time window (since, until] as upstream's batch. Two scopes:
// - `reports`: real time. Observation rows of these reports only (the IPv6-broken-probe rule looks
//   across a report), and only the rows of `uids` written. Ground truth = the control rows stored
//   so far that day.
// - neither: a whole window (reprocess), as upstream's daily run.

/** ASNs of cloud providers and CDNs (counted per hostname in the ground truth, as upstream). */
export const CLOUD_PROVIDER_ASNS = [13335, 209242, 20940, 9002, 16625, 63949, 16509, 14618, 15169, 396982, 54113, 8075, 8068];

export interface AnalysisScope {
  since: string;
  until: string;
  reports?: string[];
  uids?: string[];
  probeCc?: string[];
}

/** Per observation row: what the rules compare. */
const INPUTS = `
  hasAny(union_tls_consistent_ips, dns_answers) AS dns_tls_consistent,
  hasAny(mapKeys(ctrl_tls_inconsistent_ips), dns_answers) AS dns_tls_inconsistent,
  hasAny(mapKeys(ctrl_dns_answers), dns_answers) AS dns_answer_matches_ctrl,
  hasAny(mapKeys(ctrl_dns_answers_asns), dns_answers_asns) AS dns_answer_asn_matches_ctrl,
  ifNull(dns_answers_contain_bogon_raw, 0) AS dns_answers_contain_bogon,
  ctrl_dns_success_count / (ctrl_dns_failure_count + ctrl_dns_success_count) AS ctrl_dns_success_rate,
  ctrl_tls_success_ips[ip] AS ctrl_tls_success_count,
  ctrl_tls_failing_ips[ip] AS ctrl_tls_failing_count,
  ctrl_tls_success_rates[ip] AS ctrl_tls_success_rate,
  ctrl_tcp_success_ips[ip] AS ctrl_tcp_success_count,
  ctrl_tcp_failing_ips[ip] AS ctrl_tcp_failing_count,
  ctrl_tcp_success_rates[ip] AS ctrl_tcp_success_rate,
  -- A false-positive ('fp') fingerprint is evidence against blocking.
  dns_blocking_scope != 'fp' AND has(expected_countries, probe_cc) AS dns_blocking_country_consistent`;

function experiment(scope: AnalysisScope): string {
  const where = [
    "measurement_start_time > {since:DateTime64(3, 'UTC')}",
    "measurement_start_time <= {until:DateTime64(3, 'UTC')}",
    "test_name = 'web_connectivity'",
  ];
  if (scope.reports) where.push("report_id IN {reports:Array(String)}");
  if (scope.probeCc?.length) where.push("probe_cc IN {probe_cc:Array(String)}");
  // Window functions: answers per (measurement, hostname, address family); TCP by address family per report.
  return `
  SELECT
    measurement_uid, ooni_run_link_id, report_id, hostname, input,
    probe_asn, probe_as_org_name, probe_cc, resolver_asn, resolver_as_cc, network_type, probe_id,
    measurement_start_time, test_name,
    toStartOfDay(measurement_start_time) AS measurement_day,
    ip, ip_asn, ip_is_bogon, dns_failure, dns_answer, dns_engine,
    isIPv4String(ip) AS ip_is_v4,
    isIPv6String(ip) AS ip_is_v6,
    (dns_engine IN ('getaddrinfo', 'system') AND (ip_is_v6 OR ip_is_v4)) AS is_system_answer,
    groupArrayIf(dns_answer, is_system_answer) OVER (PARTITION BY measurement_uid, hostname, ip_is_v6) AS dns_answers,
    groupArrayIf(ip_asn, is_system_answer) OVER (PARTITION BY measurement_uid, hostname, ip_is_v6) AS dns_answers_asns,
    maxIf(ip_is_bogon, is_system_answer) OVER (PARTITION BY measurement_uid, hostname, ip_is_v6) AS dns_answers_contain_bogon_raw,
    countIf(ip_is_v6 AND tcp_failure IS NOT NULL) OVER (PARTITION BY report_id) AS v6_fail,
    countIf(ip_is_v6 AND tcp_success = 1) OVER (PARTITION BY report_id) AS v6_ok,
    v6_fail / (v6_ok + v6_fail) AS tcp_ipv6_failure_rate,
    tcp_success, tcp_failure, tcp_t, tls_is_certificate_valid, tls_failure, http_failure, probe_analysis
  FROM obs_web FINAL
  WHERE ${where.join(" AND ")}`;
}

function groundTruth(scope: AnalysisScope): string {
  // Real time: only the hostnames of the batch's reports (the ground truth of the others is not needed).
  const ofReports = scope.reports ? "AND hostname IN (SELECT hostname FROM obs_web WHERE report_id IN {reports:Array(String)} AND hostname IS NOT NULL)" : "";
  const window = `measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')} ${ofReports}`;
  const ipMap = "CAST(([ip], [1]), 'Map(String, UInt32)')";
  const rates = (ok: string, bad: string) =>
    `CAST(arrayMap(a -> (a, ${ok}[a] / (${ok}[a] + ${bad}[a])), arrayConcat(mapKeys(${ok}), mapKeys(${bad}))), 'Map(String, Float32)')`;
  return `
  SELECT
    ctrl.hostname AS hostname, ctrl.measurement_day AS measurement_day,
    arrayDistinct(arrayConcat(mapKeys(ctrl_tls_success_ips), other.valid_tls_ips)) AS union_tls_consistent_ips,
    ctrl_dns_answers, ctrl_dns_answers_asns, ctrl_dns_failure_count, ctrl_dns_success_count,
    ctrl_tls_success_ips, ctrl_tls_inconsistent_ips, ctrl_tls_failing_ips,
    ${rates("ctrl_tls_success_ips", "ctrl_tls_failing_ips")} AS ctrl_tls_success_rates,
    ctrl_tcp_success_ips, ctrl_tcp_failing_ips,
    ${rates("ctrl_tcp_success_ips", "ctrl_tcp_failing_ips")} AS ctrl_tcp_success_rates
  FROM (
    SELECT
      hostname,
      toStartOfDay(measurement_start_time) AS measurement_day,
      countIf(dns_failure IS NOT NULL) AS ctrl_dns_failure_count,
      countIf(dns_success = 1) AS ctrl_dns_success_count,
      sumMapIf(CAST(([ifNull(ip_asn, 0)], [1]), 'Map(UInt32, UInt32)'), dns_success = 1 AND ip_asn != 0) AS ctrl_dns_answers_asns,
      sumMapIf(${ipMap}, dns_success = 1) AS ctrl_dns_answers,
      sumMapIf(${ipMap}, tls_success = 1) AS ctrl_tls_success_ips,
      sumMapIf(${ipMap}, tls_success = 0 AND tls_failure LIKE 'ssl_%') AS ctrl_tls_inconsistent_ips,
      sumMapIf(${ipMap}, tls_success = 0 AND tls_failure IS NOT NULL) AS ctrl_tls_failing_ips,
      sumMapIf(${ipMap}, tcp_success = 1) AS ctrl_tcp_success_ips,
      sumMapIf(${ipMap}, tcp_success = 0) AS ctrl_tcp_failing_ips
    FROM obs_web_ctrl FINAL
    WHERE ${window}
    GROUP BY hostname, measurement_day
  ) AS ctrl
  LEFT OUTER JOIN (
    SELECT hostname, toStartOfDay(measurement_start_time) AS measurement_day,
      groupArrayIf(ip, tls_is_certificate_valid = 1) AS valid_tls_ips
    FROM obs_web FINAL
    WHERE ${window}
    GROUP BY hostname, measurement_day
  ) AS other
  ON ctrl.hostname = other.hostname AND ctrl.measurement_day = other.measurement_day`;
}

const DNS_FINGERPRINTS = `
  SELECT
    pattern,
    arrayDistinct(arrayFlatten(groupArray(arrayMap(c -> trim(BOTH ' ' FROM c), splitByChar(',', expected_countries))))) AS expected_countries,
    toString(any(scope)) AS dns_blocking_scope
  FROM fingerprints_dns FINAL
  -- An equality join evaluates 'full' patterns only (every published DNS fingerprint is one).
  WHERE pattern_type = 'full'
  GROUP BY pattern`;

/** The top rule of a layer: rows with the most evidence first, then the most blocked. */
const topRule = (layer: string) => `argMax(${layer}_rule_id, (${layer}_evidence, ${layer}_blocked, ${layer}_rule_id)) AS top_${layer}_rule_id`;

export function analysisInsertSql(scope: AnalysisScope): string {
  const cols = ANALYSIS_COLUMNS.map(([n]) => n);
  // Per-row LoNI values are named dns_blocked etc. inside; their per-measurement maxima *_max.
  const outer = cols.map((c) => (/^(dns|tcp|tls)_(blocked|down|ok)$/.test(c) ? `${c}_max AS ${c}` : c));
  return `INSERT INTO analysis_web_measurement (${cols.join(", ")})
SELECT ${outer.join(", ")} FROM (
SELECT
  domain(input) AS domain, input, test_name,
  probe_asn, probe_as_org_name, probe_cc, resolver_asn, resolver_as_cc, network_type,
  measurement_start_time, measurement_uid, ooni_run_link_id,
  anyHeavy(probe_analysis) AS top_probe_analysis,
  anyHeavy(dns_failure) AS top_dns_failure,
  anyHeavy(tcp_failure) AS top_tcp_failure,
  anyHeavy(tls_failure) AS top_tls_failure,
  max(dns_blocked) AS dns_blocked_max, max(dns_down) AS dns_down_max, max(dns_ok) AS dns_ok_max,
  max(tcp_blocked) AS tcp_blocked_max, max(tcp_down) AS tcp_down_max, max(tcp_ok) AS tcp_ok_max,
  max(tls_blocked) AS tls_blocked_max, max(tls_down) AS tls_down_max, max(tls_ok) AS tls_ok_max,
  ${topRule("dns")}, ${topRule("tcp")}, ${topRule("tls")},
  probe_id,
  toUInt16(${RULES_VERSION}) AS analysis_rules_version
-- One SELECT level per layer: the TCP and TLS rules read the verdicts of the layers before them,
-- and as same-level aliases ClickHouse would expand those cascades into every rule mentioning them.
FROM (SELECT *, ${layerSql("tls", TLS_RULES)} FROM (SELECT *, ${layerSql("tcp", TCP_RULES)} FROM (SELECT *, ${layerSql("dns", DNS_RULES)} FROM (
  SELECT *, ${INPUTS}
  FROM (${experiment(scope)}) AS experiment
  LEFT OUTER JOIN (${DNS_FINGERPRINTS}) AS fingerprints_dns ON fingerprints_dns.pattern = experiment.dns_answer
  LEFT OUTER JOIN (${groundTruth(scope)}) AS full_ctrl
  ON full_ctrl.hostname = experiment.hostname AND full_ctrl.measurement_day = experiment.measurement_day
  ${scope.uids ? "WHERE experiment.measurement_uid IN {uids:Array(String)}" : ""}
))))
GROUP BY domain, input, probe_asn, probe_as_org_name, probe_cc, resolver_asn, resolver_as_cc, network_type, test_name,
  measurement_start_time, measurement_uid, ooni_run_link_id, probe_id
)
SETTINGS join_use_nulls = 0`;
}
