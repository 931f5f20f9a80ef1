// The detector's tables. event_detector_changepoints and event_detector_cusums have upstream's
// columns, names and types (ooni/data oonipipeline/db/create_tables.py); three deviations, all in
// docs/compat.md: block_type is part of the changepoints' sorting key (upstream's key collapses
// two signals changing in the same hour into one row at merge time); ts is part of the cusums'
// key (upstream keeps only the newest state per series, so re-running an older window after a
// newer one starts from nothing; here it starts from the state just before it, and re-running a
// window replaces its own rows); event_detector_runs is ours — the windows already run, so the
// timer knows where to resume.

export const CREATE_EVENT_DETECTOR_CHANGEPOINTS = `CREATE TABLE IF NOT EXISTS event_detector_changepoints (
  probe_asn UInt32,
  probe_cc String,
  domain String,
  ts DateTime64(3, 'UTC'),
  count_isp_resolver Nullable(UInt32),
  count_other_resolver Nullable(UInt32),
  count Nullable(UInt32),
  dns_isp_blocked Nullable(Float32),
  dns_other_blocked Nullable(Float32),
  tcp_blocked Nullable(Float32),
  tls_blocked Nullable(Float32),
  change_dir Nullable(Int8),
  s_pos Nullable(Float32),
  s_neg Nullable(Float32),
  current_state String,
  h Nullable(Float32),
  block_type String
)
ENGINE = ReplacingMergeTree
ORDER BY (probe_asn, probe_cc, ts, domain, block_type)`;

const signalColumns = (s: string) => `
  ${s}_current_state String DEFAULT 'ok',
  ${s}_s_pos Nullable(Float64),
  ${s}_s_neg Nullable(Float64),
  ${s}_last_change Int8 DEFAULT 0,
  ${s}_last_ts Nullable(DateTime64(3, 'UTC'))`;

/** One row per series and run; the newest (by ts) is the state the next run starts from. */
export const CREATE_EVENT_DETECTOR_CUSUMS = `CREATE TABLE IF NOT EXISTS event_detector_cusums (
  probe_asn UInt32,
  probe_cc String,
  domain String,
  ts DateTime64(3, 'UTC'),${["dns_isp_blocked", "dns_other_blocked", "tcp_blocked", "tls_blocked"].map(signalColumns).join(",")}
)
ENGINE = ReplacingMergeTree(ts)
ORDER BY (probe_asn, probe_cc, domain, ts)`;

/** The windows the detector has run over (ours): the timer resumes after the latest. */
export const CREATE_EVENT_DETECTOR_RUNS = `CREATE TABLE IF NOT EXISTS event_detector_runs (
  window_start DateTime64(3, 'UTC'),
  window_end DateTime64(3, 'UTC'),
  probe_cc Array(String),
  changepoints UInt32,
  series UInt32,
  finished_at DateTime64(3, 'UTC') DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (window_end, finished_at)`;
