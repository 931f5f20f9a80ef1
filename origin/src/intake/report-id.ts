import { createHash, randomBytes } from "node:crypto";
import { incorrectFormat, IntakeError } from "./errors";

// report_id: `{UTC %Y%m%dT%H%M%SZ}_{test name without "_"}_{CC}_{ASN}_n{collector}_{16 chars}`, the
// last part being base64 of 12 random bytes with "o" standing in for "+" and "/" — so a report_id
// is always [A-Za-z0-9_] only and can never name a path.

function utcCompact(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z"); // 20240214T090617Z
}

export function generateReportId(testName: string, cc: string, asn: number, collectorId: string, now = new Date()): string {
  const rand = randomBytes(12).toString("base64").replace(/[+/]/g, "o");
  return `${utcCompact(now)}_${testName.replace(/_/g, "")}_${cc}_${asn}_n${collectorId}_${rand}`;
}

/**
 * One report_id per test name, as check-in hands out: the same as generateReportId for each, with
 * the time formatted once and the randomness drawn in one call (21 calls were a visible share of a
 * check-in's cost).
 */
export function generateReportIds(testNames: readonly string[], cc: string, asn: number, collectorId: string, now = new Date()): string[] {
  const time = utcCompact(now);
  // 12 bytes are exactly 16 base64 characters: one encoding of all the bytes, cut every 16.
  const random = randomBytes(12 * testNames.length).toString("base64").replace(/[+/]/g, "o");
  return testNames.map((name, i) => `${time}_${name.replace(/_/g, "")}_${cc}_${asn}_n${collectorId}_${random.slice(i * 16, i * 16 + 16)}`);
}

/** "YYYY-MM-DD hh:mm:ss" (the probe's test_start_time) → 20240214T090617Z; null if it is not that. */
function compactProbeTime(t: string | null): string | null {
  const m = t === null ? null : /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(t);
  return m ? `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6]}Z` : null;
}

/**
 * The report id given to a measurement that names none (what current probes send to
 * submit_measurement). It must be the same on every retry of the same submission, or the retry's
 * stored bytes differ and deduplication cannot recognise it: so it is derived from what the client
 * sent — the time is the measurement's own test_start_time (the epoch when it has none), the last
 * part sha256 of the decoded request body instead of random bytes. Different bodies get different
 * ids; the same body gets the same id on any attempt, on any host.
 */
export function derivedReportId(
  testName: string,
  cc: string,
  asn: number,
  collectorId: string,
  testStartTime: string | null,
  clientBody: Uint8Array,
): string {
  const time = compactProbeTime(testStartTime) ?? "19700101T000000Z";
  const digest = createHash("sha256").update(clientBody).digest().subarray(0, 12).toString("base64").replace(/[+/]/g, "o");
  return `${time}_${testName.replace(/_/g, "")}_${cc}_${asn}_n${collectorId}_${digest}`;
}

export interface ParsedReportId {
  reportId: string;
  /** Test name as it appears in the report_id (no underscores). */
  testName: string;
  /** Upper case, as written to the spool. */
  cc: string;
  asn: number;
}

const PART = /^[A-Za-z0-9]+$/;

/**
 * The checks the OONI collector applied to `POST /report/{report_id}`: six `_`-separated parts, a
 * two-letter CC, an alphanumeric test name of 2–29 characters and a numeric ASN. Anything else —
 * including `..`, `/`, NUL or other bytes — is "Incorrect format" (400).
 */
export function parseReportId(reportId: string): ParsedReportId {
  if (reportId.length > 128) throw incorrectFormat("report_id is too long");
  const parts = reportId.split("_");
  if (parts.length !== 6 || !parts.every((p) => PART.test(p))) {
    throw incorrectFormat("report_id must be six alphanumeric parts separated by _");
  }
  const [, testName, cc, asn] = parts as [string, string, string, string, string, string];
  if (!/^[A-Za-z]{2}$/.test(cc)) throw incorrectFormat("report_id country code must be two letters");
  if (testName.length < 2 || testName.length > 29) throw incorrectFormat("report_id test name must be 2-29 characters");
  if (!/^[0-9]{1,10}$/.test(asn) || Number(asn) > 0xffffffff) throw incorrectFormat("report_id ASN must be a number");
  return { reportId, testName, cc: cc.toUpperCase(), asn: Number(asn) };
}

/** The newer OONI service's refusals for measurements that cannot be attributed to a network. */
export function rejectUnknownNetwork(cc: string, asn: number): void {
  if (asn === 0) throw new IntakeError(400, "asn_0", { message: "measurements from AS0 (unknown network) are not accepted" });
  if (cc.toUpperCase() === "ZZ") throw new IntakeError(400, "cc_zz", { message: "measurements from ZZ (unknown country) are not accepted" });
}
