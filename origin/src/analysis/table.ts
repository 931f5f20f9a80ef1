// analysis_web_measurement: one row per web_connectivity measurement with its LoNI values, the
// columns upstream's pipeline creates (create_tables.py), same names, types and order.

export const ANALYSIS_COLUMNS: [string, string][] = [
  ["domain", "String"],
  ["input", "String"],
  ["test_name", "String"],
  ["probe_asn", "UInt32"],
  ["probe_as_org_name", "String"],
  ["probe_cc", "String"],
  ["resolver_asn", "UInt32"],
  ["resolver_as_cc", "String"],
  ["network_type", "String"],
  ["measurement_start_time", "DateTime64(3, 'UTC')"],
  ["measurement_uid", "String"],
  ["ooni_run_link_id", "String"],
  ["top_probe_analysis", "Nullable(String)"],
  ["top_dns_failure", "Nullable(String)"],
  ["top_tcp_failure", "Nullable(String)"],
  ["top_tls_failure", "Nullable(String)"],
  ["dns_blocked", "Float32"],
  ["dns_down", "Float32"],
  ["dns_ok", "Float32"],
  ["tcp_blocked", "Float32"],
  ["tcp_down", "Float32"],
  ["tcp_ok", "Float32"],
  ["tls_blocked", "Float32"],
  ["tls_down", "Float32"],
  ["tls_ok", "Float32"],
  ["top_dns_rule_id", "LowCardinality(String)"],
  ["top_tcp_rule_id", "LowCardinality(String)"],
  ["top_tls_rule_id", "LowCardinality(String)"],
  ["probe_id", "FixedString(64)"],
  ["analysis_rules_version", "UInt16"],
];

export const CREATE_ANALYSIS_WEB_MEASUREMENT = `CREATE TABLE IF NOT EXISTS analysis_web_measurement (
${ANALYSIS_COLUMNS.map(([n, t]) => `  ${n} ${t}`).join(",\n")}
)
ENGINE = ReplacingMergeTree
PRIMARY KEY measurement_uid
ORDER BY (measurement_uid, measurement_start_time, probe_cc, probe_asn)
PARTITION BY substring(measurement_uid, 1, 6)
SETTINGS index_granularity = 8192`;
