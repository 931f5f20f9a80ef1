import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { compress } from "@mongodb-js/zstd";
import { envelopeAroundMeasurementText } from "../../../origin/src/intake/post-file";
import { derivedReportId } from "../../../origin/src/intake/report-id";
import { measurement, openReport } from "../../origin/intake/helpers";

// Probe-like clients for the fault suites: both submission endpoints, three content encodings, and
// the probe's rule for failures (probe-contract.md: only a 200 is success; a measurement that got a
// 5xx or no answer at all stays on the probe and is submitted again later). A 4xx would make a probe
// drop the measurement, so here it fails the test.

/**
 * report: POST /report/{id}, the measurement names its report (mobile path).
 * submit: POST /api/v1/submit_measurement, the measurement names its report.
 * current: POST /api/v1/submit_measurement exactly as current probes send it — the measurement as a
 * JSON string with `"report_id":""`, and the anonymous-credential fields null (probe-contract.md).
 * The server names the report (derived from the body, report-id.ts), so `reportId` is that name.
 */
export type Endpoint = "report" | "submit" | "current";
export type Encoding = "identity" | "gzip" | "zstd";
export const ENCODINGS: Encoding[] = ["identity", "gzip", "zstd"];

export interface Submission {
  endpoint: Endpoint;
  encoding: Encoding;
  reportId: string;
  /** Path and request body as sent (encoded). */
  path: string;
  sent: Buffer;
  /** The bytes the spool must hold for it (docs/spool.md: what a .post file holds). */
  stored: Buffer;
}

export interface Ack {
  uid: string;
  reportId: string;
  stored: Buffer;
}

/** Three shapes, so that a run spreads over several spool hour directories. */
export const SHAPES = [
  { cc: "IT", asn: "AS30722", test: "web_connectivity" },
  { cc: "DE", asn: "AS3320", test: "web_connectivity" },
  { cc: "BR", asn: "AS28573", test: "web_connectivity" },
] as const;

export async function openReports(base: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = SHAPES[i % SHAPES.length]!;
    out.push(await openReport(base, s.cc, s.asn, s.test));
  }
  return out;
}

/**
 * Submission number `i` in report `reportId`: endpoint and encoding cycle with i (so every pair
 * occurs), `padBytes` makes it larger. For "report" and "submit" the measurement names its report.
 */
export async function makeSubmission(reportId: string, i: number, padBytes = 0, endpoints: Endpoint[] = ["report", "submit"]): Promise<Submission> {
  const [, , cc, asn] = reportId.split("_");
  const endpoint = endpoints[i % endpoints.length]!;
  const encoding = ENCODINGS[Math.floor(i / endpoints.length) % 3]!;
  const msm = measurement(endpoint === "current" ? undefined : reportId, {
    input: `https://example.org/${reportId.slice(-8)}/${i}`,
    probe_cc: cc,
    probe_asn: `AS${asn}`,
    ...(endpoint === "current" ? { report_id: "" } : {}),
    ...(padBytes ? { pad: "p".repeat(padBytes) } : {}),
  });
  let body: Buffer;
  let stored: Buffer;
  let rid = reportId;
  if (endpoint === "report") {
    body = stored = Buffer.from(JSON.stringify({ format: "json", content: msm }));
  } else if (endpoint === "submit") {
    const text = JSON.stringify(msm);
    body = Buffer.from(JSON.stringify({ format: "json", content: text }));
    stored = envelopeAroundMeasurementText(text, reportId);
  } else {
    const text = JSON.stringify(msm);
    body = Buffer.from(JSON.stringify({ format: "json", content: text, nym: null, zkp_request: null, manifest_version: null, protocol_version: null }));
    // The origin's rule (COLLECTOR_ID defaults to 1 in the fault suites); the count checks the bytes.
    rid = derivedReportId(msm.test_name, cc!, Number(asn), "1", msm.test_start_time, body);
    stored = envelopeAroundMeasurementText(text, rid);
  }
  const sent = encoding === "gzip" ? gzipSync(body) : encoding === "zstd" ? Buffer.from(await compress(body)) : body;
  return { endpoint, encoding, reportId: rid, path: endpoint === "report" ? `/report/${reportId}` : "/api/v1/submit_measurement", sent, stored };
}

export interface Outcome {
  status: number;
  /** Retry-After of a 5xx, if any. */
  retryAfter: string | null;
  body: string;
}

/** One attempt; null when there was no HTTP answer (refused, reset, origin killed). */
export async function submitOnce(base: string, s: Submission, timeoutMs = 30_000): Promise<Outcome | null> {
  try {
    const res = await fetch(`${base}${s.path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(s.encoding === "identity" ? {} : { "content-encoding": s.encoding }) },
      body: s.sent,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.text() };
  } catch {
    return null;
  }
}

export interface RetryStats {
  attempts: number;
  /** Attempts with no HTTP answer. */
  noAnswer: number;
  /** 5xx answers by status. */
  serverErrors: Record<number, number>;
}

export function newStats(): RetryStats {
  return { attempts: 0, noAnswer: 0, serverErrors: {} };
}

/** Submits until a 200, like a probe: retries on no answer and on 5xx (with a short backoff). */
export async function submitUntilAcked(base: () => string, s: Submission, stats: RetryStats, opts: { deadlineMs?: number } = {}): Promise<Ack> {
  const deadline = Date.now() + (opts.deadlineMs ?? 120_000);
  for (let attempt = 0; ; attempt++) {
    stats.attempts++;
    const r = await submitOnce(base(), s);
    if (r?.status === 200) return { uid: (JSON.parse(r.body) as { measurement_uid: string }).measurement_uid, reportId: s.reportId, stored: s.stored };
    if (r === null) stats.noAnswer++;
    else if (r.status >= 500) stats.serverErrors[r.status] = (stats.serverErrors[r.status] ?? 0) + 1;
    else throw new Error(`a probe would discard this measurement: ${r.status} ${r.body}`);
    if (Date.now() > deadline) throw new Error(`no 200 within the deadline after ${attempt + 1} attempts (last: ${r ? `${r.status} ${r.body}` : "no answer"})`);
    // Probes retry much later; a short, growing pause keeps the test fast without hammering.
    await new Promise((res) => setTimeout(res, Math.min(500, 25 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random())));
  }
}

/** The uid names its bytes: sha512(file)[0:16] is its suffix (docs/spool.md). */
export function uidMatches(uid: string, bytes: Uint8Array): boolean {
  return createHash("sha512").update(bytes).digest("hex").slice(0, 16) === uid.slice(-16);
}
