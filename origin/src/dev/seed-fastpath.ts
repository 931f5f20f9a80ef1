import type { Database } from "../db/clickhouse";
import { ASN_SLOTS, LOCAL_SLOTS, LUT_SIZE, buildWorld, worldParams, type World } from "./synthetic-world";

// Synthetic fastpath rows, generated inside ClickHouse: each row's choices come from
// cityHash64(seed, row number, k), looked up in the world's tables (passed as array
// parameters), so a chunk of a million rows is one INSERT … SELECT FROM numbers() and the same
// seed and end time always give the same rows. The statement text is fixed; seed, window and
// world are parameters.

const INSERT = `
INSERT INTO fastpath (measurement_uid, report_id, input, probe_cc, probe_asn, test_name, test_start_time,
  measurement_start_time, scores, platform, anomaly, confirmed, msm_failure, domain, software_name, software_version,
  test_version, test_runtime, architecture, engine_name, engine_version, blocking_type, test_helper_address,
  test_helper_type, ooni_run_link_id)
SELECT
  concat(formatDateTime(t, '%Y%m%d%H%i%S', 'UTC'), '.', leftPad(toString(h6 % 1000000), 6, '0'), '_', cc, '_',
         replaceAll(test_name, '_', ''), '_', lower(hex(h7))) AS measurement_uid,
  concat(formatDateTime(t - toIntervalSecond(h5 % 600), '%Y%m%dT%H%i%SZ', 'UTC'), '_', test_name, '_', cc, '_',
         toString(asn), '_n1_', substring(lower(hex(h8)), 1, 16)) AS report_id,
  input, cc AS probe_cc, asn AS probe_asn, test_name,
  t - toIntervalSecond(h5 % 600) AS test_start_time,
  t AS measurement_start_time,
  concat('{"blocking_general":', toString(if(is_anomaly, 1.0, 0.0)),
         ',"blocking_global":0.0,"blocking_country":0.0,"blocking_isp":0.0,"blocking_local":0.0',
         if(blocking_type != '', concat(',"analysis":{"blocking_type":"', blocking_type, '"}'), ''),
         if(is_confirmed, ',"confirmed":true', ''),
         if(test_name IN ('tor', 'torsf', 'psiphon', 'riseupvpn', 'stunreachability', 'vanilla_tor'),
            concat(',"extra":{"test_runtime":', toString(round(runtime, 3)), '}'), ''),
         '}') AS scores,
  platform,
  if(is_anomaly, 't', 'f') AS anomaly, if(is_confirmed, 't', 'f') AS confirmed, if(is_failure, 't', 'f') AS msm_failure,
  domain,
  multiIf(platform = 'android', 'ooniprobe-android', platform = 'ios', 'ooniprobe-ios',
          platform = 'linux' AND h5 % 3 = 0, 'ooniprobe-cli', 'ooniprobe-desktop') AS software_name,
  ['3.19.0', '3.20.1', '3.21.0', '3.22.0', '4.0.0'][1 + h8 % 5] AS software_version,
  if(test_name = 'web_connectivity', '0.4.3', '0.1.0') AS test_version,
  toFloat32(runtime) AS test_runtime,
  multiIf(platform IN ('android', 'ios'), 'arm64', h5 % 4 = 0, 'arm64', 'amd64') AS architecture,
  'ooniprobe-engine' AS engine_name,
  ['3.19.0', '3.20.1', '3.21.0', '3.22.0', '3.23.0'][1 + h8 % 5] AS engine_version,
  blocking_type,
  if(test_name = 'web_connectivity', concat('https://', toString(1 + h6 % 4), '.th.ooni.org'), '') AS test_helper_address,
  if(test_name = 'web_connectivity', 'https', '') AS test_helper_type,
  if(h9 % 1000 < 30, toNullable(toUInt64({run_link_ids:Array(String)}[1 + h9 % length({run_link_ids:Array(String)})])), NULL) AS ooni_run_link_id
FROM (
  SELECT *,
    test_name = 'web_connectivity' AS has_url,
    if(has_url, if(local_url > 0 AND h3 % 100 < 35, local_url, {url_lut:Array(UInt32)}[1 + h4 % ${LUT_SIZE}]), 0) AS url_i,
    if(has_url, {urls:Array(String)}[url_i], '') AS input,
    if(has_url, {url_domains:Array(String)}[url_i], '') AS domain,
    if(has_url, {url_sensitivity:Array(Float32)}[url_i], {test_anomaly:Array(Float32)}[ti]) AS sensitivity,
    -- anomaly: a small base rate, plus censorship × how sensitive the target is
    (h1 % 100000) / 100000 < least(0.95, 0.03 + {censorship:Array(Float32)}[ci] * sensitivity) AS is_anomaly,
    is_anomaly AND (h2 % 1000) / 1000 < 0.02 + 0.3 * {censorship:Array(Float32)}[ci] AS is_confirmed,
    (h3 % 10007) / 10007 < {test_failure:Array(Float32)}[ti] * (1 + {censorship:Array(Float32)}[ci]) AS is_failure,
    -- confirmed blocking is a block page (HTTP) or a known DNS injection; the rest any kind
    multiIf(NOT (is_anomaly AND has_url), '', is_confirmed, ['dns', 'http-diff'][1 + h6 % 2],
            ['dns', 'dns', 'tcp_ip', 'http-diff', 'http-failure'][1 + h6 % 5]) AS blocking_type,
    {test_runtime:Array(Float32)}[ti] * (0.4 + (h4 % 1000) / 800) AS runtime,
    ['android', 'android', 'android', 'android', 'ios', 'ios', 'linux', 'macos', 'windows', 'windows'][1 + h9 % 10] AS platform
  FROM (
    SELECT *,
      {cc_lut:Array(UInt16)}[1 + h1 % ${LUT_SIZE}] AS ci,
      {ccs:Array(String)}[ci] AS cc,
      {asn_flat:Array(UInt32)}[(ci - 1) * ${ASN_SLOTS} + 1 + h2 % ${ASN_SLOTS}] AS asn,
      {local_flat:Array(UInt32)}[(ci - 1) * ${LOCAL_SLOTS} + 1 + h4 % ${LOCAL_SLOTS}] AS local_url,
      {test_lut:Array(UInt8)}[1 + h3 % 4096] AS ti,
      {tests:Array(String)}[ti] AS test_name,
      -- more measurements lately: the offset from the end is skewed towards 0
      toDateTime({end:UInt32} - 1 - toUInt32(floor({span:UInt32} * pow((h5 % 1000003) / 1000003, 1.25))), 'UTC') AS t
    FROM (
      SELECT number,
        cityHash64({seed:UInt64}, number, 1) AS h1, cityHash64({seed:UInt64}, number, 2) AS h2,
        cityHash64({seed:UInt64}, number, 3) AS h3, cityHash64({seed:UInt64}, number, 4) AS h4,
        cityHash64({seed:UInt64}, number, 5) AS h5, cityHash64({seed:UInt64}, number, 6) AS h6,
        cityHash64({seed:UInt64}, number, 7) AS h7, cityHash64({seed:UInt64}, number, 8) AS h8,
        cityHash64({seed:UInt64}, number, 9) AS h9
      FROM numbers({offset:UInt64}, {count:UInt64})
    )
  )
)`;

export interface SeedOptions {
  rows: number;
  /** Length of the window the rows fall in, ending at `end`. */
  days: number;
  seed: number;
  /** Exclusive end of the window. */
  end: Date;
  batchRows?: number;
  /** Also fill citizenlab and asnmeta for the generated URLs and networks, when those are empty. */
  metadata?: boolean;
  onProgress?: (inserted: number) => void;
  /** Stops between chunks (the rows inserted so far stay). */
  signal?: AbortSignal;
}

export async function seedFastpath(db: Database, o: SeedOptions): Promise<{ world: World; inserted: number }> {
  const world = buildWorld(o.seed);
  const p = worldParams(world);
  const batch = o.batchRows ?? 1_000_000;
  const end = Math.floor(o.end.getTime() / 1000);
  const span = Math.round(o.days * 86_400);
  let inserted = 0;
  while (inserted < o.rows) {
    o.signal?.throwIfAborted();
    const count = Math.min(batch, o.rows - inserted);
    await db.client.command({
      query: INSERT,
      query_params: { ...p, seed: o.seed, offset: inserted, count, end, span },
      // Generous: a 1 M-row chunk takes seconds, but a busy machine should not fail a seed.
      clickhouse_settings: { max_execution_time: 600 },
    });
    inserted += count;
    o.onProgress?.(inserted);
  }
  if (o.metadata) await seedMetadata(db, world);
  return { world, inserted };
}

async function isEmpty(db: Database, table: "citizenlab" | "asnmeta"): Promise<boolean> {
  // `table` is one of two fixed names.
  const r = await db.client.query({ query: `SELECT count() AS n FROM ${table}`, format: "JSONEachRow" });
  return ((await r.json<{ n: number }>())[0]?.n ?? 0) === 0;
}

/** Test-list entries for the generated URLs, and organisation names for the generated networks. */
export async function seedMetadata(db: Database, world: World): Promise<void> {
  if (await isEmpty(db, "citizenlab")) {
    const rows = world.urls.flatMap((u, i) =>
      u.lists.map((cc, k) => ({
        domain: u.domain,
        url: u.url,
        // As stored upstream: country codes lowercase, the global list "ZZ".
        cc: cc === "ZZ" ? "ZZ" : cc.toLowerCase(),
        // A URL in a second list is filed under another category there.
        category_code: k === 0 ? u.category : ["NEWS", "POLR", "HUMR", "CULTR"][i % 4] === u.category ? "MISC" : ["NEWS", "POLR", "HUMR", "CULTR"][i % 4],
      })),
    );
    await db.client.insert({ table: "citizenlab", values: rows, format: "JSONEachRow" });
  }
  if (await isEmpty(db, "asnmeta")) {
    const rows = [...world.asnNames].map(([asn, org_name]) => ({
      asn,
      org_name,
      cc: world.countries.find((c) => c.asns.includes(asn))!.cc,
      changed: "2024-01-01",
      aut_name: org_name.split(" ")[0],
      source: "synthetic",
    }));
    await db.client.insert({ table: "asnmeta", values: rows, format: "JSONEachRow" });
  }
}
