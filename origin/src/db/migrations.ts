import type { Database } from "./clickhouse";
import { CREATE_ANALYSIS_WEB_MEASUREMENT } from "../analysis/table";
import { CREATE_OBS_HTTP_MIDDLEBOX, CREATE_OBS_WEB, CREATE_OBS_WEB_CTRL } from "../observations/columns";
import { CREATE_EVENT_DETECTOR_CHANGEPOINTS, CREATE_EVENT_DETECTOR_CUSUMS, CREATE_EVENT_DETECTOR_RUNS } from "../changepoints/table";

// Versioned, idempotent schema migrations. Every statement is safe to run again (IF NOT EXISTS),
// so several origin processes starting at once against one server, or a crash half-way through a
// migration, converge on the same schema. Applied versions are recorded for operators to read;
// correctness never depends on that record.

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

const fastpath = `
CREATE TABLE IF NOT EXISTS fastpath (
  measurement_uid String,
  report_id String,
  input String,
  probe_cc LowCardinality(String),
  probe_asn UInt32,
  test_name LowCardinality(String),
  test_start_time DateTime,
  measurement_start_time DateTime,
  filename String DEFAULT '',
  scores String,
  platform String,
  anomaly String,
  confirmed String,
  msm_failure String,
  domain String,
  software_name String,
  software_version String,
  control_failure String DEFAULT '',
  blocking_general Float32 DEFAULT 0,
  is_ssl_expected Int8 DEFAULT 0,
  page_len UInt32 DEFAULT 0,
  page_len_ratio Float32 DEFAULT 0,
  server_cc String DEFAULT '',
  server_asn Int8 DEFAULT 0,
  server_as_name String DEFAULT '',
  update_time DateTime64(3) MATERIALIZED now64(),
  test_version String,
  test_runtime Float32,
  architecture String,
  engine_name String,
  engine_version String,
  blocking_type String,
  test_helper_address LowCardinality(String),
  test_helper_type LowCardinality(String),
  ooni_run_link_id Nullable(UInt64),
  is_verified LowCardinality(String) DEFAULT 'u'
)
ENGINE = ReplacingMergeTree(update_time)
ORDER BY (measurement_start_time, report_id, input, measurement_uid)
SETTINGS index_granularity = 8192`;

const jsonl = `
CREATE TABLE IF NOT EXISTS jsonl (
  report_id String,
  input String,
  s3path String,
  linenum Int32,
  measurement_uid String,
  date Date,
  source String,
  byte_offset UInt64 DEFAULT 0,
  byte_length UInt32 DEFAULT 0,
  update_time DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplacingMergeTree(update_time)
ORDER BY (report_id, input, measurement_uid)`;

const citizenlab = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  domain String,
  url String,
  cc FixedString(2),
  category_code String
)
ENGINE = ReplacingMergeTree
ORDER BY (domain, url, cc, category_code)`;

const urlPriorities = `
CREATE TABLE IF NOT EXISTS url_priorities (
  sign Int8,
  category_code String,
  cc String,
  domain String,
  url String,
  priority Int32
)
ENGINE = CollapsingMergeTree(sign)
ORDER BY (category_code, cc, domain, url, priority)`;

// Counters feeding test-list prioritization: maintained by ClickHouse itself on every fastpath insert.
const countersTestList = `
CREATE MATERIALIZED VIEW IF NOT EXISTS counters_test_list
(day DateTime, probe_cc String, input String, msmt_cnt UInt64)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (probe_cc, input, day)
AS SELECT toDate(measurement_start_time) AS day, probe_cc, input, count() AS msmt_cnt
FROM fastpath
INNER JOIN citizenlab ON fastpath.input = citizenlab.url
WHERE measurement_start_time < now() AND measurement_start_time > now() - toIntervalDay(8)
  AND test_name = 'web_connectivity'
GROUP BY day, probe_cc, input`;

const countersAsnTestList = `
CREATE MATERIALIZED VIEW IF NOT EXISTS counters_asn_test_list
(week DateTime, probe_cc String, probe_asn UInt32, input String, msmt_cnt UInt64)
ENGINE = SummingMergeTree
ORDER BY (probe_cc, probe_asn, input, week)
AS SELECT toStartOfWeek(measurement_start_time) AS week, probe_cc, probe_asn, input, count() AS msmt_cnt
FROM fastpath
INNER JOIN citizenlab ON fastpath.input = citizenlab.url
WHERE measurement_start_time < now() AND measurement_start_time > now() - toIntervalDay(8)
  AND test_name = 'web_connectivity'
GROUP BY week, probe_cc, probe_asn, input`;

const fingerprints = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  name String,
  scope Enum8('nat' = 1, 'isp' = 2, 'prod' = 3, 'inst' = 4, 'vbw' = 5, 'fp' = 6, 'injb' = 7, 'prov' = 8),
  other_names String,
  location_found String,
  pattern_type Enum8('full' = 1, 'prefix' = 2, 'contains' = 3, 'regexp' = 4),
  pattern String,
  confidence_no_fp UInt8,
  expected_countries String,
  source String,
  exp_url String,
  notes String
)
ENGINE = ReplacingMergeTree
ORDER BY name`;

const asnmeta = `
CREATE TABLE IF NOT EXISTS asnmeta (
  asn UInt32,
  org_name String,
  cc String,
  changed Date,
  aut_name String,
  source String
)
ENGINE = MergeTree
ORDER BY (asn, changed)`;

const accounts = `
CREATE TABLE IF NOT EXISTS accounts (
  account_id FixedString(32),
  role Enum8('user' = 1, 'admin' = 2),
  update_time DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplacingMergeTree(update_time)
ORDER BY account_id`;

const sessionExpunge = `
CREATE TABLE IF NOT EXISTS session_expunge (
  account_id FixedString(32),
  threshold DateTime,
  update_time DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplacingMergeTree(update_time)
ORDER BY account_id`;

const msmtFeedback = `
CREATE TABLE IF NOT EXISTS msmt_feedback (
  measurement_uid String,
  account_id String,
  status String,
  comment String DEFAULT '',
  update_time DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplacingMergeTree(update_time)
ORDER BY (measurement_uid, account_id)`;

const incidents = `
CREATE TABLE IF NOT EXISTS incidents (
  id String,
  title String,
  text String,
  short_description String,
  event_type LowCardinality(String),
  published UInt8,
  deleted UInt8 DEFAULT 0,
  reported_by String,
  email_address String DEFAULT '',
  creator_account_id FixedString(32),
  start_time DateTime DEFAULT now(),
  end_time Nullable(DateTime),
  create_time DateTime,
  update_time DateTime DEFAULT now(),
  CCs Array(FixedString(2)),
  ASNs Array(UInt32),
  domains Array(String),
  tags Array(String),
  links Array(String),
  test_names Array(String)
)
ENGINE = ReplacingMergeTree(update_time)
ORDER BY id`;

const oonirun = `
CREATE TABLE IF NOT EXISTS oonirun (
  oonirun_link_id UInt64,
  revision UInt32,
  translation_revision UInt32 DEFAULT 0,
  date_created DateTime64(3),
  date_updated DateTime64(3),
  creator_account_id FixedString(32),
  expiration_date DateTime64(3),
  name String,
  name_intl String,
  short_description String,
  short_description_intl String,
  description String,
  description_intl String,
  author String,
  icon String,
  color String,
  nettests String,
  update_time DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplacingMergeTree(update_time)
ORDER BY (oonirun_link_id, revision)`;

const testHelperInstances = `
CREATE TABLE IF NOT EXISTS test_helper_instances (
  rdn String,
  dns_zone String,
  name String,
  provider String,
  region String,
  ipaddr IPv4,
  ipv6addr IPv6,
  draining_at Nullable(DateTime('UTC')),
  sign Int8
)
ENGINE = CollapsingMergeTree(sign)
ORDER BY name`;

export const migrations: Migration[] = [
  {
    version: 1,
    name: "core tables",
    statements: [
      fastpath,
      jsonl,
      citizenlab("citizenlab"),
      citizenlab("citizenlab_flip"),
      urlPriorities,
      countersTestList,
      countersAsnTestList,
      fingerprints("fingerprints_dns"),
      fingerprints("fingerprints_dns_tmp"),
      fingerprints("fingerprints_http"),
      fingerprints("fingerprints_http_tmp"),
      asnmeta,
      accounts,
      sessionExpunge,
      msmtFeedback,
      incidents,
      oonirun,
      testHelperInstances,
      // No obs_openvpn: upstream's fastpath fills it for openvpn measurements, but nothing that
      // reads the data (the OONI API, Explorer) queries it; we do not write it, so we do not create
      // it (docs/compat.md, "Fastpath"). Databases created before this change hold it empty.
    ],
  },
  {
    // Lookups by measurement_uid alone (raw_measurement, measurement_meta, the uploader's scoring
    // check): neither table's sort key starts with it, so without a skip index each is a full scan.
    version: 2,
    name: "measurement_uid skip indexes on jsonl and fastpath",
    statements: [
      "ALTER TABLE jsonl ADD INDEX IF NOT EXISTS jsonl_measurement_uid measurement_uid TYPE bloom_filter(0.01) GRANULARITY 1",
      "ALTER TABLE jsonl MATERIALIZE INDEX jsonl_measurement_uid",
      "ALTER TABLE fastpath ADD INDEX IF NOT EXISTS fastpath_measurement_uid measurement_uid TYPE bloom_filter(0.01) GRANULARITY 1",
      "ALTER TABLE fastpath MATERIALIZE INDEX fastpath_measurement_uid",
    ],
  },
  {
    // `fastpath reprocess` reads an archived JSONL file's uids and report ids from the jsonl rows
    // that point into it (the lines are the probe's bytes, without the uid): one lookup per file.
    version: 3,
    name: "s3path skip index on jsonl",
    statements: [
      "ALTER TABLE jsonl ADD INDEX IF NOT EXISTS jsonl_s3path s3path TYPE bloom_filter(0.01) GRANULARITY 1",
      "ALTER TABLE jsonl MATERIALIZE INDEX jsonl_s3path",
    ],
  },
  {
    // The ASN metadata updater fills asnmeta_tmp and swaps it in with EXCHANGE TABLES (as citizenlab
    // does with citizenlab_flip), so a failed update leaves asnmeta untouched.
    version: 4,
    name: "asnmeta_tmp staging table",
    statements: ["CREATE TABLE IF NOT EXISTS asnmeta_tmp AS asnmeta"],
  },
  {
    // Login links are single-use: each exchange records the link's jti here before a session is
    // handed out (auth/store.ts). Rows are only needed until the link would have expired anyway.
    version: 5,
    name: "login_links_used",
    statements: [
      `CREATE TABLE IF NOT EXISTS login_links_used (
  link_id String,
  account_id FixedString(32),
  used_time DateTime64(3),
  nonce String,
  expires_at DateTime
)
ENGINE = MergeTree
ORDER BY link_id
TTL expires_at + INTERVAL 1 DAY`,
    ],
  },
  {
    // Findings as upstream and Explorer have them: themes, a slug to link by, and start, end and
    // creation times to the millisecond (update_time is the row version and stays in seconds, as
    // upstream truncates it).
    version: 6,
    name: "findings themes, slug, millisecond times; fastpath is_verified",
    statements: [
      "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS themes Array(String) DEFAULT []",
      "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS slug String DEFAULT ''",
      "ALTER TABLE incidents MODIFY COLUMN start_time DateTime64(3) DEFAULT now64(3)",
      "ALTER TABLE incidents MODIFY COLUMN end_time Nullable(DateTime64(3))",
      "ALTER TABLE incidents MODIFY COLUMN create_time DateTime64(3)",
      // Upstream's column (fastpath/clickhouse_init.sql): "t" verified, "f" failed, "u" unverified.
      // Issue 19 fills it at submission; the read API answers it as verification_status.
      "ALTER TABLE fastpath ADD COLUMN IF NOT EXISTS is_verified LowCardinality(String) DEFAULT 'u'",
    ],
  },
  {
    // OONI Pipeline v5's tables (docs/observations.md), as upstream creates them.
    version: 7,
    name: "observations and web analysis",
    statements: [CREATE_OBS_WEB, CREATE_OBS_WEB_CTRL, CREATE_ANALYSIS_WEB_MEASUREMENT],
  },
  {
    // Upstream's third observation table: what the middlebox tests (http_invalid_request_line,
    // http_header_field_manipulation) saw. The other tests' observations go to obs_web.
    version: 8,
    name: "obs_http_middlebox",
    statements: [CREATE_OBS_HTTP_MIDDLEBOX],
  },
  {
    // The changepoint detector (docs/changepoints.md): its output, its state across runs, and the
    // windows it has run over.
    version: 9,
    name: "changepoint detector (event_detector_changepoints, event_detector_cusums, event_detector_runs)",
    statements: [CREATE_EVENT_DETECTOR_CHANGEPOINTS, CREATE_EVENT_DETECTOR_CUSUMS, CREATE_EVENT_DETECTOR_RUNS],
  },
];

const migrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  applied_at DateTime64(3) DEFAULT now64()
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version`;

export async function migrate(db: Database, list: Migration[] = migrations): Promise<number[]> {
  await db.client.command({ query: migrationsTable });
  const r = await db.client.query({ query: "SELECT DISTINCT version FROM schema_migrations", format: "JSONEachRow" });
  const done = new Set((await r.json<{ version: number }>()).map((x) => Number(x.version)));
  const applied: number[] = [];
  for (const m of [...list].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await db.client.command({ query: statement });
    await db.client.insert({
      table: "schema_migrations",
      values: [{ version: m.version, name: m.name }],
      format: "JSONEachRow",
    });
    applied.push(m.version);
  }
  return applied;
}

export async function appliedVersions(db: Database): Promise<number[]> {
  const r = await db.client.query({ query: "SELECT DISTINCT version FROM schema_migrations ORDER BY version", format: "JSONEachRow" });
  return (await r.json<{ version: number }>()).map((x) => Number(x.version));
}
