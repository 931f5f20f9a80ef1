import type { MeasurementMeta, ProbeMeta } from "./rows";
import { dict, str, type Dict } from "./values";

// The measurement and probe columns every observation row carries. Network metadata that upstream
// looks up in its own IP/AS database (netinfodb) is filled later from this origin's GeoIP
// (enrich.ts); here only what the measurement itself says.

const START_TIME = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})$/;

function asnNumber(v: unknown): number {
  const s = str(v);
  if (!s || !s.startsWith("AS")) return 0;
  const n = Number(s.slice(2));
  return Number.isInteger(n) ? n : 0;
}

function joinedInput(v: unknown): string | null {
  if (Array.isArray(v)) return v.map(String).join(":");
  return typeof v === "string" ? v : null;
}

export function makeMeasurementMeta(msm: Dict, uid: string, bucketDate: string): MeasurementMeta {
  const start = str(msm.measurement_start_time);
  const m = start ? START_TIME.exec(start) : null;
  if (!m) throw new Error(`measurement_start_time is not "YYYY-MM-DD HH:MM:SS": ${String(start)}`);
  const annotations = dict(msm.annotations) ?? {};
  const runLink = annotations.ooni_run_link_id;
  return {
    measurement_uid: uid,
    input: joinedInput(msm.input),
    report_id: str(msm.report_id) ?? "",
    ooni_run_link_id: runLink === undefined || runLink === null ? "" : String(runLink),
    measurement_start_time: `${m[1]}.000`,
    software_name: str(msm.software_name) ?? "",
    software_version: str(msm.software_version) ?? "",
    test_name: str(msm.test_name) ?? "",
    test_version: str(msm.test_version) ?? "",
    bucket_date: bucketDate,
  };
}

export function makeProbeMeta(msm: Dict, tk: Dict): ProbeMeta {
  const annotations = dict(msm.annotations) ?? {};
  const ann = (k: string) => str(annotations[k]) ?? "unknown";
  const clientResolver = str(tk.client_resolver);
  let resolverIp = str(msm.resolver_ip);
  const scrubbed = clientResolver === "[scrubbed]" || resolverIp === "[scrubbed]";
  resolverIp = resolverIp || clientResolver || "";
  const resolverAsnProbe = asnNumber(msm.resolver_asn);
  const resolverOrgProbe = str(msm.resolver_network_name) ?? "";
  let resolverAsn = 0;
  let resolverOrg = "";
  if (resolverIp === "[scrubbed]") {
    resolverAsn = resolverAsnProbe;
    resolverOrg = resolverOrgProbe;
    resolverIp = "";
  }
  return {
    probe_asn: asnNumber(msm.probe_asn),
    probe_cc: str(msm.probe_cc) ?? "",
    // Upstream: from its AS database by probe_asn. Until enrich.ts fills it, the probe's own name.
    probe_as_org_name: str(msm.probe_network_name) ?? "",
    probe_as_cc: "",
    probe_as_name: "",
    network_type: ann("network_type"),
    platform: ann("platform"),
    origin: ann("origin"),
    engine_name: ann("engine_name"),
    engine_version: ann("engine_version"),
    architecture: ann("architecture"),
    resolver_ip: resolverIp,
    resolver_asn: resolverAsn,
    resolver_cc: "",
    resolver_as_org_name: resolverOrg,
    resolver_as_cc: "",
    resolver_is_scrubbed: scrubbed ? 1 : 0,
    resolver_asn_probe: resolverAsnProbe,
    resolver_as_org_name_probe: resolverOrgProbe,
    probe_id: str(msm.probe_id) ?? "",
  };
}
