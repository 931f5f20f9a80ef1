// The fuzzy-logic rules that turn web observations into likelihoods of network interference
// ("LoNI": blocked, down, ok) per layer: upstream's rule set (oonipipeline analysis/rules.py,
// RULES_VERSION 2). Each layer is a first-match cascade; a rule's condition is a ClickHouse
// boolean expression over the analysis query's per-row scope (table.ts). Rule ids are persisted:
// never rename one, add a new rule instead (and bump RULES_VERSION).

export const RULES_VERSION = 2;

/** How much a row says about its layer: nothing, observed but discarded, or scored. */
export const EVIDENCE = { none: 0, discarded: 1, scored: 2 } as const;

export interface Rule {
  id: string;
  when: string;
  loni: readonly [blocked: number, down: number, ok: number];
  evidence?: number;
}

export const NO_MATCH_RULE_ID = "none";

const SYSTEM_RESOLVER = "dns_engine IN ('system', 'getaddrinfo')";

export const DNS_RULES: readonly Rule[] = [
  { id: "no_dns_data", when: "length(dns_answers) = 0 AND dns_failure IS NULL", loni: [0, 0, 0], evidence: EVIDENCE.none },
  { id: "country_consistent_blockpage", when: "dns_blocking_country_consistent", loni: [1, 0, 0] },
  { id: "tls_consistent_answer", when: "dns_tls_consistent > 0", loni: [0, 0, 1] },
  { id: "bogon_not_in_ctrl", when: "dns_answers_contain_bogon > 0 AND dns_answer_matches_ctrl = 0", loni: [0.95, 0.05, 0] },
  { id: "bogon_in_ctrl", when: "dns_answers_contain_bogon > 0 AND dns_answer_matches_ctrl > 0", loni: [0.1, 0.9, 0] },
  { id: "tls_inconsistent_not_in_ctrl", when: "dns_tls_inconsistent > 0 AND dns_answer_matches_ctrl = 0", loni: [0.9, 0.05, 0.05] },
  { id: "answer_matches_ctrl", when: "dns_answer_matches_ctrl > 0", loni: [0, 0, 0.9] },
  { id: "answer_asn_matches_ctrl", when: "dns_answer_asn_matches_ctrl > 0", loni: [0.2, 0, 0.8] },
  {
    id: "dns_system_failure_ctrl_also_failing",
    when: `${SYSTEM_RESOLVER} AND dns_failure IS NOT NULL AND ctrl_dns_success_rate <= 0.5`,
    loni: [0.1, 0.9, 0],
  },
  {
    id: "dns_system_failure_ctrl_ok",
    when: `${SYSTEM_RESOLVER} AND dns_failure IS NOT NULL AND ctrl_dns_success_rate > 0.5`,
    loni: [0.9, 0.1, 0],
  },
  { id: "dns_system_failure_no_ctrl", when: `${SYSTEM_RESOLVER} AND dns_failure IS NOT NULL`, loni: [0.5, 0.5, 0] },
  { id: "dns_system_answer_unmatched", when: `${SYSTEM_RESOLVER} AND dns_failure IS NULL`, loni: [0.75, 0, 0.25] },
];

const DNS_UNTRUSTED = "dns_blocked > 0 AND dns_ok <= (dns_blocked + dns_down)";

export const TCP_RULES: readonly Rule[] = [
  { id: "no_tcp_data", when: "tcp_success != 1 AND tcp_failure IS NULL", loni: [0, 0, 0], evidence: EVIDENCE.none },
  { id: "connect_ok", when: "tcp_failure IS NULL AND tcp_success = 1", loni: [0, 0, 1] },
  {
    id: "ipv6_broken_probe",
    when: "tcp_failure IS NOT NULL AND ip_is_v6 = 1 AND tcp_ipv6_failure_rate > 0.5",
    loni: [0, 0, 0],
    evidence: EVIDENCE.discarded,
  },
  {
    id: "failure_ctrl_ok",
    when: "tcp_failure IS NOT NULL AND ctrl_tcp_success_rate > 0.5 AND ctrl_tcp_success_count > 0",
    loni: [0.75, 0.25, 0],
  },
  { id: "dns_untrusted", when: DNS_UNTRUSTED, loni: [0, 0, 0], evidence: EVIDENCE.discarded },
  {
    id: "failure_ctrl_also_failing",
    when: "tcp_failure IS NOT NULL AND ctrl_tcp_success_rate <= 0.5 AND ctrl_tcp_failing_count > 0",
    loni: [0.25, 0.75, 0],
  },
];

const TLS_CTRL_OK = "tls_failure IS NOT NULL AND ctrl_tls_success_rate > 0.5 AND ctrl_tls_success_count > 0";

export const TLS_RULES: readonly Rule[] = [
  { id: "no_tls_data", when: "tls_is_certificate_valid IS NULL AND tls_failure IS NULL", loni: [0, 0, 0], evidence: EVIDENCE.none },
  { id: "certificate_valid", when: "tls_is_certificate_valid = 1", loni: [0, 0, 1] },
  { id: "failure_ctrl_ok_ssl", when: `${TLS_CTRL_OK} AND startsWith(tls_failure, 'ssl_')`, loni: [0.9, 0.1, 0] },
  { id: "failure_ctrl_ok_reset", when: `${TLS_CTRL_OK} AND tls_failure = 'connection_reset'`, loni: [0.8, 0.2, 0] },
  { id: "failure_ctrl_ok_other", when: TLS_CTRL_OK, loni: [0.7, 0.3, 0] },
  { id: "dns_untrusted", when: DNS_UNTRUSTED, loni: [0, 0, 0], evidence: EVIDENCE.discarded },
  { id: "tcp_blocked", when: "tcp_blocked > 0 AND tcp_ok <= (tcp_blocked + tcp_down)", loni: [0, 0, 0], evidence: EVIDENCE.discarded },
  {
    id: "failure_ctrl_also_failing",
    when: "tls_failure IS NOT NULL AND ctrl_tls_success_rate <= 0.5 AND ctrl_tls_failing_count > 0",
    loni: [0.2, 0.8, 0],
  },
];

const f = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));

/**
 * A layer's cascade as ClickHouse columns: the first matching rule's number (0: none matched), and
 * from it the rule id, evidence level and (blocked, down, ok). The conditions are evaluated once.
 */
export function layerSql(name: string, rules: readonly Rule[]): string {
  const pick = (values: string[]) => `arrayElement([${values.join(", ")}], ${name}_rule_no + 1)`;
  return `
  multiIf(${rules.map((r, i) => `(${r.when}), ${i + 1}`).join(",\n    ")},\n    0) AS ${name}_rule_no,
  ${pick([`'${NO_MATCH_RULE_ID}'`, ...rules.map((r) => `'${r.id}'`)])} AS ${name}_rule_id,
  ${pick([String(EVIDENCE.none), ...rules.map((r) => String(r.evidence ?? EVIDENCE.scored))])} AS ${name}_evidence,
  ${pick(["0.0", ...rules.map((r) => f(r.loni[0]))])} AS ${name}_blocked,
  ${pick(["0.0", ...rules.map((r) => f(r.loni[1]))])} AS ${name}_down,
  ${pick(["0.0", ...rules.map((r) => f(r.loni[2]))])} AS ${name}_ok`;
}
