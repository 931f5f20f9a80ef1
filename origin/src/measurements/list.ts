import { chDateTime } from "../stats/params";

// The query behind GET /api/v1/measurements: one parameterized SELECT over `fastpath FINAL`
// (rescoring writes a newer row for the same measurement; FINAL shows only the newest). Column
// names in ORDER BY come from a fixed list, never from the request.

export const ORDER_BY = ["measurement_start_time", "test_start_time", "input", "probe_cc", "probe_asn", "test_name"] as const;
export type OrderBy = (typeof ORDER_BY)[number];

export interface ListFilters {
  reportId: string | null;
  input: string | null;
  domains: string[];
  categoryCodes: string[];
  probeCcs: string[];
  probeAsns: number[];
  testNames: string[];
  since: Date | null;
  until: Date | null;
  anomaly: boolean | null;
  confirmed: boolean | null;
  failure: boolean | null;
  softwareVersions: string[];
  testVersions: string[];
  engineVersions: string[];
  runLinkIds: string[];
  orderBy: OrderBy;
  order: "asc" | "desc";
  offset: number;
  /** Rows to fetch: the page size + 1, to know whether a next page exists without counting. */
  fetch: number;
}

export interface ListRow {
  measurement_uid: string;
  report_id: string;
  probe_cc: string;
  probe_asn: number;
  test_name: string;
  start_iso: string;
  input: string;
  anomaly: string;
  confirmed: string;
  msm_failure: string;
  scores: string;
  is_verified: string;
}

/** DateTime has whole seconds: round a fractional bound up, keeping ">=" and "<" exact. */
function second(d: Date): string {
  return chDateTime(new Date(Math.ceil(d.getTime() / 1000) * 1000));
}

export function buildListQuery(f: ListFilters): { query: string; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const add = (clause: string, values: Record<string, unknown> = {}) => {
    where.push(clause);
    Object.assign(params, values);
  };

  if (f.since) add("measurement_start_time >= {since:DateTime('UTC')}", { since: second(f.since) });
  if (f.until) add("measurement_start_time < {until:DateTime('UTC')}", { until: second(f.until) });
  if (f.reportId !== null) add("report_id = {report_id:String}", { report_id: f.reportId });
  // Unknown country and network are never listed unless asked for by name (legacy behaviour,
  // ooni/explorer#495); asking for them by name is refused by the route.
  if (f.probeCcs.length) add("probe_cc IN {probe_cc:Array(String)}", { probe_cc: f.probeCcs });
  else add("probe_cc != 'ZZ'");
  if (f.probeAsns.length) add("probe_asn IN {probe_asn:Array(UInt32)}", { probe_asn: f.probeAsns });
  else add("probe_asn != 0");
  if (f.testNames.length) add("test_name IN {test_name:Array(String)}", { test_name: f.testNames });
  if (f.softwareVersions.length) add("software_version IN {software_version:Array(String)}", { software_version: f.softwareVersions });
  if (f.testVersions.length) add("test_version IN {test_version:Array(String)}", { test_version: f.testVersions });
  if (f.engineVersions.length) add("engine_version IN {engine_version:Array(String)}", { engine_version: f.engineVersions });
  // Ids up to 2^64 do not fit a JS number: passed as strings, converted by the server.
  if (f.runLinkIds.length) {
    add("ooni_run_link_id IN arrayMap(x -> toUInt64(x), {run_link_ids:Array(String)})", { run_link_ids: f.runLinkIds });
  }
  if (f.anomaly !== null) add("anomaly = {anomaly:String}", { anomaly: f.anomaly ? "t" : "f" });
  if (f.confirmed !== null) add("confirmed = {confirmed:String}", { confirmed: f.confirmed ? "t" : "f" });
  if (f.failure !== null) add("msm_failure = {failure:String}", { failure: f.failure ? "t" : "f" });
  if (f.input !== null) {
    // As in the legacy API, an exact input makes domain and category_code redundant: they are ignored.
    add("input = {input:String}", { input: f.input });
  } else {
    if (f.domains.length) add("domain IN {domains:Array(String)}", { domains: f.domains });
    if (f.categoryCodes.length) {
      add("input IN (SELECT url FROM citizenlab WHERE category_code IN {category_codes:Array(String)})", {
        category_codes: f.categoryCodes,
      });
    }
  }

  const dir = f.order === "asc" ? "ASC" : "DESC";
  // measurement_uid breaks ties, so pages never overlap or skip rows.
  const query = `
SELECT measurement_uid, report_id, probe_cc, probe_asn, test_name,
  formatDateTime(measurement_start_time, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS start_iso,
  input, anomaly, confirmed, msm_failure, scores, is_verified
FROM fastpath FINAL
WHERE ${where.join("\n  AND ")}
ORDER BY ${f.orderBy} ${dir}, measurement_uid ${dir}
LIMIT {fetch:UInt32} OFFSET {offset:UInt64}`;
  params.fetch = f.fetch;
  params.offset = f.offset;
  return { query, params };
}
