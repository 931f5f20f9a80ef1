import type { Database } from "../../../origin/src/db/clickhouse";

// Hand-written fastpath rows for tests that need to know exactly what is in the table.

export interface Msmt {
  t: Date;
  cc?: string;
  asn?: number;
  test?: string;
  input?: string;
  domain?: string;
  anomaly?: boolean;
  confirmed?: boolean;
  failure?: boolean;
  blocking_type?: string;
  runtime?: number;
  run_link_id?: number | null;
}

let uid = 0;

export async function insertMsmts(db: Database, msmts: Msmt[]): Promise<void> {
  const values = msmts.map((m) => {
    const test = m.test ?? "web_connectivity";
    const scores: Record<string, unknown> = { blocking_general: m.anomaly ? 1 : 0 };
    if (m.blocking_type) scores.analysis = { blocking_type: m.blocking_type };
    if (m.runtime !== undefined) scores.extra = { test_runtime: m.runtime };
    uid++;
    return {
      measurement_uid: `20240101000000.${String(uid).padStart(6, "0")}_${m.cc ?? "IT"}_${test.replaceAll("_", "")}_${uid.toString(16).padStart(16, "0")}`,
      report_id: `20240101T000000Z_${test}_${m.cc ?? "IT"}_${m.asn ?? 30722}_n1_r${uid}`,
      input: m.input ?? "",
      probe_cc: m.cc ?? "IT",
      probe_asn: m.asn ?? 30722,
      test_name: test,
      test_start_time: m.t.toISOString(),
      measurement_start_time: m.t.toISOString(),
      scores: JSON.stringify(scores),
      platform: "linux",
      anomaly: m.anomaly ? "t" : "f",
      confirmed: m.confirmed ? "t" : "f",
      msm_failure: m.failure ? "t" : "f",
      domain: m.domain ?? (m.input ? new URL(m.input).hostname : ""),
      software_name: "ooniprobe-cli",
      software_version: "3.22.0",
      test_version: "0.4.3",
      test_runtime: m.runtime ?? 1,
      architecture: "amd64",
      engine_name: "ooniprobe-engine",
      engine_version: "3.22.0",
      blocking_type: m.blocking_type ?? "",
      test_helper_address: "",
      test_helper_type: "",
      ooni_run_link_id: m.run_link_id ?? null,
    };
  });
  await db.client.insert({ table: "fastpath", values, format: "JSONEachRow" });
}

export async function insertCitizenlab(db: Database, rows: { url: string; cc: string; category_code: string }[]) {
  await db.client.insert({
    table: "citizenlab",
    values: rows.map((r) => ({ ...r, domain: new URL(r.url).hostname })),
    format: "JSONEachRow",
  });
}

const DAY = 86_400_000;

/** Noon UTC `n` days before today (negative n: days after). */
export function daysAgo(n: number, hour = 12): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour) - n * DAY);
}

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
