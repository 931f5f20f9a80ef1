import { queryRows, type Database } from "../db/clickhouse";
import { verificationStatus, type VerificationStatus } from "./verification";

// Metadata of one measurement from the fastpath table, in the shape the probe engine decodes
// (probe-contract.md, measurement_meta): times as RFC 3339, probe_asn as an integer, scores as the
// stored JSON string, flags as booleans.

export interface MeasurementMeta {
  anomaly: boolean;
  category_code: string | null;
  confirmed: boolean;
  failure: boolean;
  input: string;
  measurement_start_time: string;
  measurement_uid: string;
  probe_asn: number;
  probe_cc: string;
  report_id: string;
  scores: string;
  test_name: string;
  test_start_time: string;
  verification_status: VerificationStatus;
}

interface Row {
  measurement_uid: string;
  report_id: string;
  input: string;
  probe_cc: string;
  probe_asn: number;
  test_name: string;
  start_iso: string;
  test_start_iso: string;
  scores: string;
  anomaly: string;
  confirmed: string;
  msm_failure: string;
  is_verified: string;
}

// Aliases differ from the column names: in ClickHouse an alias would shadow the column elsewhere.
const COLUMNS = `measurement_uid, report_id, input, probe_cc, probe_asn, test_name,
  formatDateTime(measurement_start_time, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS start_iso,
  formatDateTime(test_start_time, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS test_start_iso,
  scores, anomaly, confirmed, msm_failure, is_verified`;

/** Which rows a report_id + input lookup accepts, and in which order of preference. */
const MATCH_INPUT = "input = {input:String} OR input = '' OR ({input:String} = '' AND startsWith(input, '{'))";
const INPUT_RANK = "multiIf(input = {input:String}, 0, input = '', 1, 2)";

export type MetaKey = { uid: string } | { reportId: string; input: string };

/** The newest fastpath row of a measurement (rescoring replaces rows), or null. */
async function fastpathRow(db: Database, key: MetaKey): Promise<Row | null> {
  const rows =
    "uid" in key
      ? await queryRows<Row>(
          db,
          `SELECT ${COLUMNS} FROM fastpath WHERE measurement_uid = {uid:String} ORDER BY update_time DESC LIMIT 1`,
          { uid: key.uid },
        )
      : // Several measurements may share report_id and input: the first by uid, every time. As
        // upstream, a report's measurement without input (input = '') answers too; and without an
        // input asked, one whose input was a list (stored "{a,b}") is the report's measurement.
        await queryRows<Row>(
          db,
          `SELECT ${COLUMNS} FROM fastpath
           WHERE report_id = {report_id:String} AND (${MATCH_INPUT})
           ORDER BY ${INPUT_RANK}, measurement_uid, update_time DESC LIMIT 1`,
          { report_id: key.reportId, input: key.input },
        );
  return rows[0] ?? null;
}

/** The category of a URL in the test list of the probe's country, else the global list. */
async function categoryOf(db: Database, input: string, cc: string): Promise<string | null> {
  if (!input) return null;
  const rows = await queryRows<{ category_code: string }>(
    db,
    `SELECT category_code FROM citizenlab WHERE url = {url:String} AND cc IN ({cc:String}, 'ZZ')
     ORDER BY cc = 'ZZ' LIMIT 1`,
    { url: input, cc: cc.toLowerCase() },
  );
  return rows[0]?.category_code ?? null;
}

/**
 * Null when unknown — and, as in the legacy API, for measurements from AS0, which are not
 * published (ooni/explorer#495).
 */
export async function measurementMeta(db: Database, key: MetaKey): Promise<MeasurementMeta | null> {
  const row = await fastpathRow(db, key);
  if (!row || Number(row.probe_asn) === 0) return null;
  // As both upstream APIs answer (their pytest suites agree): input is the stored value, "" when
  // the measurement had none; category_code is "" when no test list files the input (their LEFT
  // JOIN's default), and null only for a lookup by report_id without input (which joins nothing).
  const withoutInput = "reportId" in key && key.input === "";
  return {
    anomaly: row.anomaly === "t",
    category_code: withoutInput ? null : ((await categoryOf(db, row.input, row.probe_cc)) ?? ""),
    confirmed: row.confirmed === "t",
    failure: row.msm_failure === "t",
    input: row.input,
    measurement_start_time: row.start_iso,
    measurement_uid: row.measurement_uid,
    probe_asn: Number(row.probe_asn),
    probe_cc: row.probe_cc,
    report_id: row.report_id,
    scores: row.scores,
    test_name: row.test_name,
    test_start_time: row.test_start_iso,
    verification_status: verificationStatus(row.is_verified),
  };
}

/**
 * The uid for report_id + input: the first by uid among the archived (jsonl, sorted by exactly
 * these columns) and the scored (fastpath) ones, so measurement_meta and raw_measurement pick the
 * same measurement when a report repeats an input.
 */
export async function uidFor(db: Database, reportId: string, input: string): Promise<string | null> {
  const params = { report_id: reportId, input };
  const first = (table: "jsonl" | "fastpath") =>
    queryRows<{ measurement_uid: string; rank: number }>(
      db,
      `SELECT measurement_uid, ${INPUT_RANK} AS rank FROM ${table}
       WHERE report_id = {report_id:String} AND (${MATCH_INPUT})
       ORDER BY rank, measurement_uid LIMIT 1`,
      params,
    );
  const found = (await Promise.all([first("jsonl"), first("fastpath")]))
    .flat()
    .sort((a, b) => Number(a.rank) - Number(b.rank) || (a.measurement_uid < b.measurement_uid ? -1 : a.measurement_uid > b.measurement_uid ? 1 : 0));
  return found[0]?.measurement_uid ?? null;
}
