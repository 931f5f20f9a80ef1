// Table definitions of obs_web, obs_web_ctrl and obs_http_middlebox: the columns upstream's pipeline
// creates (oonidata WebObservation / WebControlObservation / HTTPMiddleboxObservation through
// create_tables.py), same names, types and order.

const DT = "DateTime64(3, 'UTC')";

const MEASUREMENT_META: [string, string][] = [
  ["measurement_uid", "String"],
  ["input", "Nullable(String)"],
  ["report_id", "String"],
  ["ooni_run_link_id", "String"],
  ["measurement_start_time", DT],
  ["software_name", "String"],
  ["software_version", "String"],
  ["test_name", "String"],
  ["test_version", "String"],
  ["bucket_date", "String"],
];

const PROBE_META: [string, string][] = [
  ["probe_asn", "Int32"],
  ["probe_cc", "String"],
  ["probe_as_org_name", "String"],
  ["probe_as_cc", "String"],
  ["probe_as_name", "String"],
  ["network_type", "String"],
  ["platform", "String"],
  ["origin", "String"],
  ["engine_name", "String"],
  ["engine_version", "String"],
  ["architecture", "String"],
  ["resolver_ip", "String"],
  ["resolver_asn", "Int32"],
  ["resolver_cc", "String"],
  ["resolver_as_org_name", "String"],
  ["resolver_as_cc", "String"],
  ["resolver_is_scrubbed", "Int8"],
  ["resolver_asn_probe", "Int32"],
  ["resolver_as_org_name_probe", "String"],
  ["probe_id", "FixedString(64)"],
];

const IP_INFO: [string, string][] = [
  ["ip_asn", "Nullable(Int32)"],
  ["ip_as_org_name", "Nullable(String)"],
  ["ip_as_cc", "Nullable(String)"],
  ["ip_cc", "Nullable(String)"],
  ["ip_is_bogon", "Nullable(Int8)"],
];

const S = "Nullable(String)";
const I = "Nullable(Int32)";
const B = "Nullable(Int8)";
const F = "Nullable(Float64)";

export const OBS_WEB_COLUMNS: [string, string][] = [
  ...MEASUREMENT_META,
  ...PROBE_META,
  ["observation_idx", "Int32"],
  ["created_at", `Nullable(${DT})`],
  ["target_id", S],
  ["hostname", S],
  ["transaction_id", I],
  ["ip", S],
  ["port", I],
  ...IP_INFO,
  ["dns_query_type", S],
  ["dns_failure", S],
  ["dns_engine", S],
  ["dns_engine_resolver_address", S],
  ["dns_answer_type", S],
  ["dns_answer", S],
  ["dns_answer_asn", I],
  ["dns_answer_as_org_name", S],
  ["dns_t", F],
  ["tcp_failure", S],
  ["tcp_success", B],
  ["tcp_t", F],
  ["tls_failure", S],
  ["tls_server_name", S],
  ["tls_outer_server_name", S],
  ["tls_echconfig", S],
  ["tls_version", S],
  ["tls_cipher_suite", S],
  ["tls_is_certificate_valid", B],
  ["tls_end_entity_certificate_fingerprint", S],
  ["tls_end_entity_certificate_subject", S],
  ["tls_end_entity_certificate_subject_common_name", S],
  ["tls_end_entity_certificate_issuer", S],
  ["tls_end_entity_certificate_issuer_common_name", S],
  ["tls_end_entity_certificate_san_list", "Array(String)"],
  ["tls_end_entity_certificate_not_valid_after", `Nullable(${DT})`],
  ["tls_end_entity_certificate_not_valid_before", `Nullable(${DT})`],
  ["tls_certificate_chain_length", I],
  ["tls_certificate_chain_fingerprints", "Array(String)"],
  ["tls_handshake_read_count", I],
  ["tls_handshake_write_count", I],
  ["tls_handshake_read_bytes", F],
  ["tls_handshake_write_bytes", F],
  ["tls_handshake_last_operation", S],
  ["tls_handshake_time", F],
  ["tls_t", F],
  ["http_request_url", S],
  ["http_network", S],
  ["http_alpn", S],
  ["http_failure", S],
  ["http_request_body_length", I],
  ["http_request_method", S],
  ["http_runtime", F],
  ["http_response_body_length", I],
  ["http_response_body_is_truncated", B],
  ["http_response_body_sha1", S],
  ["http_response_status_code", I],
  ["http_response_header_location", S],
  ["http_response_header_server", S],
  ["http_request_redirect_from", S],
  ["http_request_body_is_truncated", B],
  ["http_t", F],
  ["probe_analysis", S],
];

export const OBS_WEB_CTRL_COLUMNS: [string, string][] = [
  ...MEASUREMENT_META,
  ["hostname", "String"],
  ["observation_idx", "Int32"],
  ["created_at", `Nullable(${DT})`],
  ["ip", "String"],
  ["port", I],
  ...IP_INFO,
  ["dns_failure", S],
  ["dns_success", B],
  ["tcp_failure", S],
  ["tcp_success", B],
  ["tls_failure", S],
  ["tls_success", B],
  ["tls_server_name", S],
  ["http_request_url", S],
  ["http_failure", S],
  ["http_success", B],
  ["http_response_body_length", I],
];

export const OBS_HTTP_MIDDLEBOX_COLUMNS: [string, string][] = [
  ...MEASUREMENT_META,
  ...PROBE_META,
  ["observation_idx", "Int32"],
  ["created_at", `Nullable(${DT})`],
  ...[0, 1, 2, 3, 4].map((i): [string, string] => [`hirl_sent_${i}`, S]),
  ...[0, 1, 2, 3, 4].map((i): [string, string] => [`hirl_received_${i}`, S]),
  ["hirl_failure", S],
  ["hirl_success", B],
  ["hfm_diff", S],
  ["hfm_failure", S],
  ["hfm_success", B],
];

const MONTH_PARTITION = "concat(substring(bucket_date, 1, 4), substring(bucket_date, 6, 2))";

function createTable(name: string, columns: [string, string][], orderBy: string[]): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
${columns.map(([n, t]) => `  ${n} ${t}`).join(",\n")}
)
ENGINE = ReplacingMergeTree
PARTITION BY (${MONTH_PARTITION})
ORDER BY (${orderBy.join(", ")})
SETTINGS index_granularity = 8192`;
}

export const CREATE_OBS_WEB = createTable("obs_web", OBS_WEB_COLUMNS, [
  "measurement_start_time",
  "probe_cc",
  "probe_asn",
  "measurement_uid",
  "observation_idx",
]);

export const CREATE_OBS_WEB_CTRL = createTable("obs_web_ctrl", OBS_WEB_CTRL_COLUMNS, [
  "measurement_start_time",
  "hostname",
  "measurement_uid",
  "observation_idx",
]);

export const CREATE_OBS_HTTP_MIDDLEBOX = createTable("obs_http_middlebox", OBS_HTTP_MIDDLEBOX_COLUMNS, [
  "measurement_start_time",
  "measurement_uid",
  "observation_idx",
]);
