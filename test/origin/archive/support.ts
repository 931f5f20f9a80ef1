import { createHash } from "node:crypto";
import type { createApp } from "../../../origin/src/app";
import { buildFingerprintSet } from "../../../origin/src/fastpath/fingerprints";
import { buildFastpathRow } from "../../../origin/src/fastpath/row";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { parsePostFile } from "../../../origin/src/intake/post-file";
import type { Services } from "../../../origin/src/services";

// Measurements for the archive tests, submitted through the real intake routes, plus a stand-in for
// the fastpath pipeline (score + insert the row) so the uploader's scoring guard is satisfied
// whether or not the pipeline's own ensureScored exists.

type App = ReturnType<typeof createApp>;

export interface Sent {
  uid: string;
  /** The measurement exactly as the probe sent it (what raw_measurement must return). */
  bytes: Buffer;
  reportId: string;
  input: string | null;
  cc: string;
  testName: string;
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Python-style JSON (", " and ": ", non-ASCII as \u escapes): bytes a re-serialiser would change. */
function pyJson(v: unknown): string {
  if (v === null || typeof v !== "object") {
    return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  if (Array.isArray(v)) return `[${v.map(pyJson).join(", ")}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyJson(k)}: ${pyJson(x)}`).join(", ")}}`;
}

const SHAPES = [
  { cc: "IT", asn: 30722, test: "web_connectivity" },
  { cc: "DE", asn: 3320, test: "ndt" },
  { cc: "IR", asn: 197207, test: "telegram" },
] as const;

function fmt(d: Date): string {
  return d.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * The text of measurement `i`: realistic envelope fields, sizes from ~1 kB to ~9 kB, and bytes
 * that only survive if nothing parses and re-serialises them (a leading `1.50`, spacing, escapes).
 */
export function measurementText(i: number, shapeIndex = i % SHAPES.length): { text: string; cc: string; asn: number; test: string; input: string | null } {
  const s = SHAPES[shapeIndex % SHAPES.length]!;
  const start = new Date(Date.now() - (i + 1) * 60_000);
  const input = s.test === "web_connectivity" ? `https://site-${i}.example/path?q=${i}` : null;
  const msm = {
    annotations: { architecture: "amd64", engine_name: "ooniprobe-engine", engine_version: "3.22.0", platform: "linux" },
    data_format_version: "0.2.0",
    input,
    measurement_start_time: fmt(start),
    probe_asn: `AS${s.asn}`,
    probe_cc: s.cc,
    probe_network_name: "Test Net — ünïcode",
    resolver_asn: `AS${s.asn}`,
    resolver_ip: "192.0.2.1",
    software_name: "ooniprobe-cli",
    software_version: "3.22.0",
    test_keys: { accessible: true, blocking: false, notes: "é".repeat(50 + ((i * 997) % 4000)), queries: [{ answers: [{ ipv4: "192.0.2.7" }] }] },
    test_name: s.test,
    test_start_time: fmt(start),
    test_version: "0.4.3",
  };
  return { text: `{"test_runtime": 1.50, ${pyJson(msm).slice(1)}`, cc: s.cc, asn: s.asn, test: s.test, input };
}

async function post(app: App, path: string, body: string): Promise<any> {
  const res = await app.request(path, { method: "POST", headers: { "Content-Type": "application/json" }, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Submits measurement i: even i through POST /report + /report/{id}, odd through submit_measurement. */
export async function submitMeasurement(app: App, i: number, shapeIndex?: number): Promise<Sent> {
  const m = measurementText(i, shapeIndex);
  if (i % 2 === 0) {
    const opened = await post(app, "/report", JSON.stringify({
      data_format_version: "0.2.0", format: "json", probe_asn: `AS${m.asn}`, probe_cc: m.cc, software_name: "ooniprobe-cli",
      software_version: "3.22.0", test_name: m.test, test_start_time: "2024-01-01 00:00:00", test_version: "0.4.3",
    }));
    const reportId = opened.report_id as string;
    const r = await post(app, `/report/${reportId}`, `{"format":"json","content":${m.text}}`);
    return { uid: r.measurement_uid, bytes: Buffer.from(m.text), reportId, input: m.input, cc: m.cc, testName: m.test };
  }
  const r = await post(app, "/api/v1/submit_measurement", JSON.stringify({ format: "json", content: m.text, nym: null }));
  // The intake generated a report id and stored it in the envelope: read it back from the spool.
  return { uid: r.measurement_uid, bytes: Buffer.from(m.text), reportId: "", input: m.input, cc: m.cc, testName: m.test };
}

const noFingerprints = buildFingerprintSet([], []);

/** Stand-in for the fastpath pipeline: one scored row per uid, from the spool file. */
export async function simulateFastpath(services: Services, uids: string[]): Promise<Map<string, string>> {
  const reportIds = new Map<string, string>();
  const rows = [];
  for (const uid of uids) {
    const found = await services.spool.find(uid);
    if (!found) throw new Error(`not in the spool: ${uid}`);
    const { reportId, measurement } = parsePostFile(found.data);
    const result = scoreMeasurement(measurement, { fingerprints: noFingerprints, measurementUid: uid });
    rows.push(buildFastpathRow(measurement, result, { measurementUid: uid, reportId: reportId ?? undefined }));
    reportIds.set(uid, reportId ?? "");
  }
  if (rows.length) await services.db.client.insert({ table: "fastpath", values: rows, format: "JSONEachRow" });
  return reportIds;
}

/** Submits n measurements and scores them; report ids filled in from the spool. */
export async function submitAndScore(app: App, services: Services, n: number, first = 0): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (let i = first; i < first + n; i++) sent.push(await submitMeasurement(app, i));
  const reportIds = await simulateFastpath(services, sent.map((s) => s.uid));
  for (const s of sent) s.reportId = reportIds.get(s.uid) ?? s.reportId;
  return sent;
}
