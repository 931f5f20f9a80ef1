// Hand-written fastpath rows for the measurement API tests: ids chosen by the test, uids and
// report ids derived from them, every column the API reads under the test's control.

const DAY = 86_400_000;
export function at(daysAgo: number, hour: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour) - daysAgo * DAY);
}
export const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export interface Row {
  id: string;
  t: Date;
  cc?: string;
  asn?: number;
  test?: string;
  input?: string;
  anomaly?: boolean;
  confirmed?: boolean;
  failure?: boolean;
  sw?: string;
  tv?: string;
  ev?: string;
  runLink?: number | null;
  scores?: Record<string, unknown>;
  report?: string;
}

export const uidOf = (r: Row) => {
  const test = (r.test ?? "web_connectivity").replace(/_/g, "");
  const stamp = r.t.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${stamp}.000000_${r.cc ?? "IT"}_${test}_${Buffer.from(r.id.padEnd(8, "0")).toString("hex")}`;
};
export const reportOf = (r: Row) => r.report ?? `20240101T000000Z_${(r.test ?? "web_connectivity").replace(/_/g, "")}_${r.cc ?? "IT"}_${r.asn ?? 30722}_n1_report${r.id}aaaaaaaaaa`;

export function fastpathRow(r: Row) {
  const input = r.input ?? "";
  return {
    measurement_uid: uidOf(r),
    report_id: reportOf(r),
    input,
    probe_cc: r.cc ?? "IT",
    probe_asn: r.asn ?? 30722,
    test_name: r.test ?? "web_connectivity",
    test_start_time: r.t.toISOString(),
    measurement_start_time: r.t.toISOString(),
    scores: JSON.stringify(r.scores ?? { blocking_general: r.anomaly ? 1 : 0, row: r.id }),
    platform: "linux",
    anomaly: r.anomaly ? "t" : "f",
    confirmed: r.confirmed ? "t" : "f",
    msm_failure: r.failure ? "t" : "f",
    domain: input ? new URL(input).hostname : "",
    software_name: "ooniprobe-cli",
    software_version: r.sw ?? "3.22.0",
    test_version: r.tv ?? "0.4.3",
    test_runtime: 1,
    architecture: "amd64",
    engine_name: "ooniprobe-engine",
    engine_version: r.ev ?? "3.22.0",
    blocking_type: "",
    test_helper_address: "",
    test_helper_type: "",
    ooni_run_link_id: r.runLink ?? null,
  };
}

