// Rows of obs_web, obs_web_ctrl and obs_http_middlebox (upstream's WebObservation /
// WebControlObservation / HTTPMiddleboxObservation, with the
// measurement and probe metadata flattened in). Booleans are 0/1 as ClickHouse Int8 stores them;
// timestamps are "YYYY-MM-DD HH:MM:SS.mmm" (UTC). Column order and types: columns.ts.

export type Nullable<T> = T | null;

export interface MeasurementMeta {
  measurement_uid: string;
  input: Nullable<string>;
  report_id: string;
  ooni_run_link_id: string;
  measurement_start_time: string;
  software_name: string;
  software_version: string;
  test_name: string;
  test_version: string;
  bucket_date: string;
}

export interface ProbeMeta {
  probe_asn: number;
  probe_cc: string;
  probe_as_org_name: string;
  probe_as_cc: string;
  probe_as_name: string;
  network_type: string;
  platform: string;
  origin: string;
  engine_name: string;
  engine_version: string;
  architecture: string;
  resolver_ip: string;
  resolver_asn: number;
  resolver_cc: string;
  resolver_as_org_name: string;
  resolver_as_cc: string;
  resolver_is_scrubbed: number;
  resolver_asn_probe: number;
  resolver_as_org_name_probe: string;
  probe_id: string;
}

export interface IpInfoColumns {
  ip_asn: Nullable<number>;
  ip_as_org_name: Nullable<string>;
  ip_as_cc: Nullable<string>;
  ip_cc: Nullable<string>;
  ip_is_bogon: Nullable<number>;
}

export interface WebObservationRow extends MeasurementMeta, ProbeMeta, IpInfoColumns {
  observation_idx: number;
  created_at: Nullable<string>;
  target_id: Nullable<string>;
  hostname: Nullable<string>;
  transaction_id: Nullable<number>;
  ip: Nullable<string>;
  port: Nullable<number>;
  dns_query_type: Nullable<string>;
  dns_failure: Nullable<string>;
  dns_engine: Nullable<string>;
  dns_engine_resolver_address: Nullable<string>;
  dns_answer_type: Nullable<string>;
  dns_answer: Nullable<string>;
  dns_answer_asn: Nullable<number>;
  dns_answer_as_org_name: Nullable<string>;
  dns_t: Nullable<number>;
  tcp_failure: Nullable<string>;
  tcp_success: Nullable<number>;
  tcp_t: Nullable<number>;
  tls_failure: Nullable<string>;
  tls_server_name: Nullable<string>;
  tls_outer_server_name: Nullable<string>;
  tls_echconfig: Nullable<string>;
  tls_version: Nullable<string>;
  tls_cipher_suite: Nullable<string>;
  tls_is_certificate_valid: Nullable<number>;
  tls_end_entity_certificate_fingerprint: Nullable<string>;
  tls_end_entity_certificate_subject: Nullable<string>;
  tls_end_entity_certificate_subject_common_name: Nullable<string>;
  tls_end_entity_certificate_issuer: Nullable<string>;
  tls_end_entity_certificate_issuer_common_name: Nullable<string>;
  tls_end_entity_certificate_san_list: string[];
  tls_end_entity_certificate_not_valid_after: Nullable<string>;
  tls_end_entity_certificate_not_valid_before: Nullable<string>;
  tls_certificate_chain_length: Nullable<number>;
  tls_certificate_chain_fingerprints: string[];
  tls_handshake_read_count: Nullable<number>;
  tls_handshake_write_count: Nullable<number>;
  tls_handshake_read_bytes: Nullable<number>;
  tls_handshake_write_bytes: Nullable<number>;
  tls_handshake_last_operation: Nullable<string>;
  tls_handshake_time: Nullable<number>;
  tls_t: Nullable<number>;
  http_request_url: Nullable<string>;
  http_network: Nullable<string>;
  http_alpn: Nullable<string>;
  http_failure: Nullable<string>;
  http_request_body_length: Nullable<number>;
  http_request_method: Nullable<string>;
  http_runtime: Nullable<number>;
  http_response_body_length: Nullable<number>;
  http_response_body_is_truncated: Nullable<number>;
  http_response_body_sha1: Nullable<string>;
  http_response_status_code: Nullable<number>;
  http_response_header_location: Nullable<string>;
  http_response_header_server: Nullable<string>;
  http_request_redirect_from: Nullable<string>;
  http_request_body_is_truncated: Nullable<number>;
  http_t: Nullable<number>;
  probe_analysis: Nullable<string>;
}

export interface WebControlObservationRow extends MeasurementMeta, IpInfoColumns {
  hostname: string;
  observation_idx: number;
  created_at: Nullable<string>;
  ip: string;
  port: Nullable<number>;
  dns_failure: Nullable<string>;
  dns_success: Nullable<number>;
  tcp_failure: Nullable<string>;
  tcp_success: Nullable<number>;
  tls_failure: Nullable<string>;
  tls_success: Nullable<number>;
  tls_server_name: Nullable<string>;
  http_request_url: Nullable<string>;
  http_failure: Nullable<string>;
  http_success: Nullable<number>;
  http_response_body_length: Nullable<number>;
}

/** obs_http_middlebox: what http_invalid_request_line (hirl_*) and http_header_field_manipulation (hfm_*) saw. */
export interface HttpMiddleboxRow extends MeasurementMeta, ProbeMeta {
  observation_idx: number;
  created_at: Nullable<string>;
  hirl_sent_0: Nullable<string>;
  hirl_sent_1: Nullable<string>;
  hirl_sent_2: Nullable<string>;
  hirl_sent_3: Nullable<string>;
  hirl_sent_4: Nullable<string>;
  hirl_received_0: Nullable<string>;
  hirl_received_1: Nullable<string>;
  hirl_received_2: Nullable<string>;
  hirl_received_3: Nullable<string>;
  hirl_received_4: Nullable<string>;
  hirl_failure: Nullable<string>;
  hirl_success: Nullable<number>;
  hfm_diff: Nullable<string>;
  hfm_failure: Nullable<string>;
  hfm_success: Nullable<number>;
}

/** What one measurement becomes. */
export interface MeasurementObservations {
  measurement_uid: string;
  web: WebObservationRow[];
  ctrl: WebControlObservationRow[];
  middlebox: HttpMiddleboxRow[];
}

/** ClickHouse DateTime64(3) text, UTC. */
export function chTime(d: Date): string {
  return d.toISOString().slice(0, 23).replace("T", " ");
}
