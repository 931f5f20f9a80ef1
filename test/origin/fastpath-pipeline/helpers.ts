import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openDatabase, queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { migrate } from "../../../origin/src/db/migrations";
import type { Fingerprint } from "../../../origin/src/fastpath/fingerprints";
import { makeMeasurementUid, parseMeasurementUid } from "../../../origin/src/intake/measurement-uid";
import { envelopeAroundMeasurementText } from "../../../origin/src/intake/post-file";
import type { Spool } from "../../../origin/src/intake/spool";
import { createLogger } from "../../../origin/src/logger";
import type { FastpathConfig } from "../../../origin/src/fastpath/pipeline/settings";

// Shared by the pipeline tests: a temp embedded ClickHouse, synthetic measurements stored in the
// spool exactly as the intake stores them, and polling with a deadline (never a fixed sleep).

export const silent = createLogger("silent");

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `fp-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openTempDb(dir: string): Promise<Database> {
  const db = openDatabase({ kind: "embedded", path: path.join(dir, "clickhouse"), database: "default", queryTimeoutS: 60 });
  await migrate(db);
  return db;
}

export function pipelineConfig(over: Partial<FastpathConfig> = {}): FastpathConfig {
  return {
    enabled: true,
    workers: 1,
    batchRows: 200,
    flushMs: 100,
    maxPending: 20_000,
    fingerprintsPollMs: 0,
    rescanMs: 0,
    matching: "fastpath",
    faultClickhouseDownFile: null,
    ...over,
  };
}

/** Polls `check` until it returns a value that is not undefined, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, ms = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type Verdict = "ok" | "dns" | "confirmed" | "failed";

export const BLOCKPAGE_IP = "10.10.34.35";

/** A DNS fingerprint for BLOCKPAGE_IP (nat scope: confirmed wherever it is seen). */
export const blockpageFingerprint: Fingerprint = {
  name: "test.blockpage_dns",
  scope: "nat",
  other_names: "",
  location_found: "dns",
  pattern_type: "full",
  pattern: BLOCKPAGE_IP,
  confidence_no_fp: 5,
  expected_countries: ["IR"],
  source: "test",
  exp_url: "",
  notes: "",
};

function utc(d: Date): string {
  return d.toISOString().slice(0, 19).replace("T", " ");
}

/** A web_connectivity measurement started just now whose verdict is `verdict`. */
export function webConnectivity(verdict: Verdict, n = 0, now = new Date()): Record<string, unknown> {
  const answers = [{ answer_type: "A", ipv4: verdict === "confirmed" ? BLOCKPAGE_IP : "93.184.216.34" }];
  const testKeys: Record<string, unknown> = {
    queries: [{ hostname: "example.org", answers }],
    requests: [],
    accessible: verdict === "ok" || verdict === "confirmed" ? true : verdict === "dns" ? false : null,
    blocking: verdict === "dns" ? "dns" : verdict === "failed" ? null : false,
  };
  return {
    probe_cc: "IT",
    probe_asn: "AS30722",
    test_name: "web_connectivity",
    test_version: "0.4.3",
    measurement_start_time: utc(now),
    test_start_time: utc(new Date(now.getTime() - 1000)),
    input: `https://example-${n}.org/`,
    software_name: "ooniprobe-cli",
    software_version: "3.22.0",
    annotations: { platform: "linux", architecture: "amd64", engine_name: "ooniprobe-engine", engine_version: "3.22.0" },
    test_runtime: 1.5,
    test_keys: testKeys,
  };
}

export const REPORT_ID = "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD";

/**
 * Stores a measurement as POST /api/v1/submit_measurement does (the measurement as text inside an
 * envelope that carries the report id) and returns its uid.
 */
export async function spoolMeasurement(spool: Spool, msm: Record<string, unknown>, reportId = REPORT_ID, isVerified?: "t" | "f" | "u"): Promise<string> {
  const stored = envelopeAroundMeasurementText(JSON.stringify(msm), reportId, isVerified);
  const uid = makeMeasurementUid(String(msm.probe_cc), String(msm.test_name).replace(/_/g, ""), stored);
  await spool.write(uid, stored);
  return uid;
}

/** Stores arbitrary bytes under a fresh uid (for unreadable files). */
export async function spoolBytes(spool: Spool, bytes: Buffer): Promise<{ uid: string; hourDir: string }> {
  const uid = makeMeasurementUid("IT", "webconnectivity", bytes);
  await spool.write(uid, bytes);
  return { uid, hourDir: parseMeasurementUid(uid)!.hourDir };
}

export interface RowFlags {
  measurement_uid: string;
  anomaly: string;
  confirmed: string;
  msm_failure: string;
  blocking_type: string;
  report_id: string;
}

export async function rowsFor(db: Database, uids: string[]): Promise<Map<string, RowFlags>> {
  const rows = await queryRows<RowFlags>(
    db,
    `SELECT measurement_uid, anomaly, confirmed, msm_failure, blocking_type, report_id
     FROM fastpath FINAL WHERE measurement_uid IN {uids:Array(String)}`,
    { uids },
  );
  return new Map(rows.map((r) => [r.measurement_uid, r]));
}

export async function countRows(db: Database): Promise<{ final: number; distinct: number; raw: number }> {
  const [r] = await queryRows<{ final: number; distinct: number; raw: number }>(
    db,
    `SELECT (SELECT count() FROM fastpath FINAL) AS final, (SELECT uniqExact(measurement_uid) FROM fastpath) AS distinct,
            (SELECT count() FROM fastpath) AS raw`,
  );
  return { final: Number(r!.final), distinct: Number(r!.distinct), raw: Number(r!.raw) };
}

export const expected: Record<Verdict, Pick<RowFlags, "anomaly" | "confirmed" | "msm_failure" | "blocking_type">> = {
  ok: { anomaly: "f", confirmed: "f", msm_failure: "f", blocking_type: "" },
  dns: { anomaly: "t", confirmed: "f", msm_failure: "f", blocking_type: "dns" },
  confirmed: { anomaly: "t", confirmed: "t", msm_failure: "f", blocking_type: "" },
  failed: { anomaly: "f", confirmed: "f", msm_failure: "t", blocking_type: "" },
};
