// The fuzzy-logic rules that turn web observations into likelihoods of network interference
// ("LoNI": blocked, down, ok) per layer: upstream's rule set (oonipipeline analysis/rules.py,
// RULES_VERSION 2). Each layer is a first-match cascade; a rule's condition is a ClickHouse
// boolean expression over the analysis query's per-row scope (query.ts), used by `analysis
// reprocess`, and the same condition as a TypeScript predicate over RowInputs, used by the live
// analysis in-process (web.ts). The two forms sit side by side so they change together; the
// conformance test holds both to upstream's rows. The predicates follow SQL's NULL logic: a
// comparison with NULL (or NaN, 0/0 in ClickHouse) is false, so `x != 1` is false when x is NULL.
// Rule ids are persisted: never rename one, add a new rule instead (and bump RULES_VERSION).

export const RULES_VERSION = 2;

/** How much a row says about its layer: nothing, observed but discarded, or scored. */
export const EVIDENCE = { none: 0, discarded: 1, scored: 2 } as const;

/** What a rule reads about one observation row (names as in the SQL scope, query.ts). */
export interface RowInputs {
  dns_engine: string | null;
  dns_failure: string | null;
  dns_answers_count: number;
  dns_blocking_country_consistent: boolean;
  dns_tls_consistent: boolean;
  dns_tls_inconsistent: boolean;
  dns_answer_matches_ctrl: boolean;
  dns_answer_asn_matches_ctrl: boolean;
  dns_answers_contain_bogon: number;
  /** NaN when the control has no DNS observation of the hostname (0/0). */
  ctrl_dns_success_rate: number;
  tcp_success: number | null;
  tcp_failure: string | null;
  ip_is_v6: number | null;
  tcp_ipv6_failure_rate: number;
  /** null when the row has no address (a NULL map key). */
  ctrl_tcp_success_rate: number | null;
  ctrl_tcp_success_count: number | null;
  ctrl_tcp_failing_count: number | null;
  tls_is_certificate_valid: number | null;
  tls_failure: string | null;
  ctrl_tls_success_rate: number | null;
  ctrl_tls_success_count: number | null;
  ctrl_tls_failing_count: number | null;
  /** The verdicts of the layers before (set as the cascades run). */
  dns_blocked: number;
  dns_down: number;
  dns_ok: number;
  tcp_blocked: number;
  tcp_down: number;
  tcp_ok: number;
}

export interface Rule {
  id: string;
  when: string;
  test: (r: RowInputs) => boolean;
  loni: readonly [blocked: number, down: number, ok: number];
  evidence?: number;
}

export const NO_MATCH_RULE_ID = "none";

const SYSTEM_RESOLVER = "dns_engine IN ('system', 'getaddrinfo')";
const isSystem = (r: RowInputs) => r.dns_engine === "system" || r.dns_engine === "getaddrinfo";
/** SQL `a > b` / `a <= b` / `a = b`: false when a is NULL or NaN. */
const gt = (a: number | null, b: number) => a !== null && a > b;
const le = (a: number | null, b: number) => a !== null && a <= b;

export const DNS_RULES: readonly Rule[] = [
  { id: "no_dns_data", test: (r) => r.dns_answers_count === 0 && r.dns_failure === null, when: "length(dns_answers) = 0 AND dns_failure IS NULL", loni: [0, 0, 0], evidence: EVIDENCE.none },
  { id: "country_consistent_blockpage", test: (r) => r.dns_blocking_country_consistent, when: "dns_blocking_country_consistent", loni: [1, 0, 0] },
  { id: "tls_consistent_answer", test: (r) => r.dns_tls_consistent, when: "dns_tls_consistent > 0", loni: [0, 0, 1] },
  { id: "bogon_not_in_ctrl", test: (r) => r.dns_answers_contain_bogon > 0 && !r.dns_answer_matches_ctrl, when: "dns_answers_contain_bogon > 0 AND dns_answer_matches_ctrl = 0", loni: [0.95, 0.05, 0] },
  { id: "bogon_in_ctrl", test: (r) => r.dns_answers_contain_bogon > 0 && r.dns_answer_matches_ctrl, when: "dns_answers_contain_bogon > 0 AND dns_answer_matches_ctrl > 0", loni: [0.1, 0.9, 0] },
  { id: "tls_inconsistent_not_in_ctrl", test: (r) => r.dns_tls_inconsistent && !r.dns_answer_matches_ctrl, when: "dns_tls_inconsistent > 0 AND dns_answer_matches_ctrl = 0", loni: [0.9, 0.05, 0.05] },
  { id: "answer_matches_ctrl", test: (r) => r.dns_answer_matches_ctrl, when: "dns_answer_matches_ctrl > 0", loni: [0, 0, 0.9] },
  { id: "answer_asn_matches_ctrl", test: (r) => r.dns_answer_asn_matches_ctrl, when: "dns_answer_asn_matches_ctrl > 0", loni: [0.2, 0, 0.8] },
  {
    id: "dns_system_failure_ctrl_also_failing",
    test: (r) => isSystem(r) && r.dns_failure !== null && le(r.ctrl_dns_success_rate, 0.5),
    when: `${SYSTEM_RESOLVER} AND dns_failure IS NOT NULL AND ctrl_dns_success_rate <= 0.5`,
    loni: [0.1, 0.9, 0],
  },
  {
    id: "dns_system_failure_ctrl_ok",
    test: (r) => isSystem(r) && r.dns_failure !== null && gt(r.ctrl_dns_success_rate, 0.5),
    when: `${SYSTEM_RESOLVER} AND dns_failure IS NOT NULL AND ctrl_dns_success_rate > 0.5`,
    loni: [0.9, 0.1, 0],
  },
  { id: "dns_system_failure_no_ctrl", test: (r) => isSystem(r) && r.dns_failure !== null, when: `${SYSTEM_RESOLVER} AND dns_failure IS NOT NULL`, loni: [0.5, 0.5, 0] },
  { id: "dns_system_answer_unmatched", test: (r) => isSystem(r) && r.dns_failure === null, when: `${SYSTEM_RESOLVER} AND dns_failure IS NULL`, loni: [0.75, 0, 0.25] },
];

const DNS_UNTRUSTED = "dns_blocked > 0 AND dns_ok <= (dns_blocked + dns_down)";
const dnsUntrusted = (r: RowInputs) => r.dns_blocked > 0 && r.dns_ok <= r.dns_blocked + r.dns_down;

export const TCP_RULES: readonly Rule[] = [
  { id: "no_tcp_data", test: (r) => r.tcp_success !== null && r.tcp_success !== 1 && r.tcp_failure === null, when: "tcp_success != 1 AND tcp_failure IS NULL", loni: [0, 0, 0], evidence: EVIDENCE.none },
  { id: "connect_ok", test: (r) => r.tcp_failure === null && r.tcp_success === 1, when: "tcp_failure IS NULL AND tcp_success = 1", loni: [0, 0, 1] },
  {
    id: "ipv6_broken_probe",
    test: (r) => r.tcp_failure !== null && r.ip_is_v6 === 1 && gt(r.tcp_ipv6_failure_rate, 0.5),
    when: "tcp_failure IS NOT NULL AND ip_is_v6 = 1 AND tcp_ipv6_failure_rate > 0.5",
    loni: [0, 0, 0],
    evidence: EVIDENCE.discarded,
  },
  {
    id: "failure_ctrl_ok",
    test: (r) => r.tcp_failure !== null && gt(r.ctrl_tcp_success_rate, 0.5) && gt(r.ctrl_tcp_success_count, 0),
    when: "tcp_failure IS NOT NULL AND ctrl_tcp_success_rate > 0.5 AND ctrl_tcp_success_count > 0",
    loni: [0.75, 0.25, 0],
  },
  { id: "dns_untrusted", test: dnsUntrusted, when: DNS_UNTRUSTED, loni: [0, 0, 0], evidence: EVIDENCE.discarded },
  {
    id: "failure_ctrl_also_failing",
    test: (r) => r.tcp_failure !== null && le(r.ctrl_tcp_success_rate, 0.5) && gt(r.ctrl_tcp_failing_count, 0),
    when: "tcp_failure IS NOT NULL AND ctrl_tcp_success_rate <= 0.5 AND ctrl_tcp_failing_count > 0",
    loni: [0.25, 0.75, 0],
  },
];

const TLS_CTRL_OK = "tls_failure IS NOT NULL AND ctrl_tls_success_rate > 0.5 AND ctrl_tls_success_count > 0";
const tlsCtrlOk = (r: RowInputs) => r.tls_failure !== null && gt(r.ctrl_tls_success_rate, 0.5) && gt(r.ctrl_tls_success_count, 0);

export const TLS_RULES: readonly Rule[] = [
  { id: "no_tls_data", test: (r) => r.tls_is_certificate_valid === null && r.tls_failure === null, when: "tls_is_certificate_valid IS NULL AND tls_failure IS NULL", loni: [0, 0, 0], evidence: EVIDENCE.none },
  { id: "certificate_valid", test: (r) => r.tls_is_certificate_valid === 1, when: "tls_is_certificate_valid = 1", loni: [0, 0, 1] },
  { id: "failure_ctrl_ok_ssl", test: (r) => tlsCtrlOk(r) && r.tls_failure!.startsWith("ssl_"), when: `${TLS_CTRL_OK} AND startsWith(tls_failure, 'ssl_')`, loni: [0.9, 0.1, 0] },
  { id: "failure_ctrl_ok_reset", test: (r) => tlsCtrlOk(r) && r.tls_failure === "connection_reset", when: `${TLS_CTRL_OK} AND tls_failure = 'connection_reset'`, loni: [0.8, 0.2, 0] },
  { id: "failure_ctrl_ok_other", test: tlsCtrlOk, when: TLS_CTRL_OK, loni: [0.7, 0.3, 0] },
  { id: "dns_untrusted", test: dnsUntrusted, when: DNS_UNTRUSTED, loni: [0, 0, 0], evidence: EVIDENCE.discarded },
  { id: "tcp_blocked", test: (r) => r.tcp_blocked > 0 && r.tcp_ok <= r.tcp_blocked + r.tcp_down, when: "tcp_blocked > 0 AND tcp_ok <= (tcp_blocked + tcp_down)", loni: [0, 0, 0], evidence: EVIDENCE.discarded },
  {
    id: "failure_ctrl_also_failing",
    test: (r) => r.tls_failure !== null && le(r.ctrl_tls_success_rate, 0.5) && gt(r.ctrl_tls_failing_count, 0),
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

/** A layer's verdict for one row: the first matching rule (upstream's cascade), or none. */
export interface LayerVerdict {
  rule_id: string;
  evidence: number;
  blocked: number;
  down: number;
  ok: number;
}

const NO_MATCH: LayerVerdict = { rule_id: NO_MATCH_RULE_ID, evidence: EVIDENCE.none, blocked: 0, down: 0, ok: 0 };
const verdicts = new WeakMap<Rule, LayerVerdict>();

/** The TypeScript twin of layerSql. */
export function runLayer(rules: readonly Rule[], r: RowInputs): LayerVerdict {
  for (const rule of rules) {
    if (!rule.test(r)) continue;
    let v = verdicts.get(rule);
    if (!v) {
      v = { rule_id: rule.id, evidence: rule.evidence ?? EVIDENCE.scored, blocked: rule.loni[0], down: rule.loni[1], ok: rule.loni[2] };
      verdicts.set(rule, v);
    }
    return v;
  }
  return NO_MATCH;
}
