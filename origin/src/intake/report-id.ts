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

// Check-in hands out 21 report ids per request; what is the same for all of them, or for every
// request within one second, is computed once (profiled: drawing and formatting them was a sixth
// of a check-in's CPU time).

/** utcCompact of the current second, kept until the second changes. */
let compactSecond = NaN;
let compactText = "";
function utcCompactCached(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== compactSecond) {
    compactText = utcCompact(d);
    compactSecond = second;
  }
  return compactText;
}

/** Test names without "_" (a report_id part is alphanumeric), per name. */
const idNames = new Map<string, string>();
function idName(testName: string): string {
  let n = idNames.get(testName);
  if (n === undefined) {
    n = testName.replace(/_/g, "");
    if (idNames.size < 256) idNames.set(testName, n);
  }
  return n;
}

// Random bytes are drawn from the CSPRNG a block at a time and each byte is handed out once, so a
// report_id is exactly as unpredictable as with its own randomBytes call, at one call per ~30
// check-ins. A used block is dropped, never refilled in place.
const POOL_BYTES = 8192;
let pool: Buffer = Buffer.alloc(0);
let poolPos = 0;
function freshRandom(n: number): Buffer {
  if (poolPos + n > pool.length) {
    pool = randomBytes(Math.max(POOL_BYTES, n));
    poolPos = 0;
  }
  const out = pool.subarray(poolPos, poolPos + n);
  poolPos += n;
  return out;
}

/**
 * What check-in writes for its report ids: each id but its 16 random characters (the stem, kept
 * for the current second per network: probes of one network in one second share them), and the
 * random characters of all of them in one string, 16 per id. stems[i] + random.slice(16 i, 16 i + 16)
 * is generateReportId's id, without building 21 strings per check-in.
 */
export interface ReportIdParts {
  stems: readonly string[];
  random: string;
}

const STEMS_KEPT = 4096;
/** A number per list of test names (check-in's is one constant array), for the stems' key. */
const namesIds = new WeakMap<readonly string[], number>();
let nextNamesId = 0;
function namesId(names: readonly string[]): number {
  let id = namesIds.get(names);
  if (id === undefined) namesIds.set(names, (id = nextNamesId++));
  return id;
}
let stemsSecond = NaN;
const stemsByKey = new Map<string, string[]>();

export function reportIdParts(testNames: readonly string[], cc: string, asn: number, collectorId: string, now = new Date()): ReportIdParts {
  const time = utcCompactCached(now);
  const second = compactSecond;
  if (second !== stemsSecond || stemsByKey.size >= STEMS_KEPT) {
    stemsByKey.clear();
    stemsSecond = second;
  }
  const key = `${namesId(testNames)}|${cc}|${asn}|${collectorId}`;
  let stems = stemsByKey.get(key);
  if (stems === undefined) {
    const suffix = `_${cc}_${asn}_n${collectorId}_`;
    stems = testNames.map((name) => `${time}_${idName(name)}${suffix}`);
    stemsByKey.set(key, stems);
  }
  // 12 bytes are exactly 16 base64 characters: one encoding of all the bytes, cut every 16.
  const random = freshRandom(12 * testNames.length).toString("base64").replace(/[+/]/g, "o");
  return { stems, random };
}

/**
 * One report_id per test name, as check-in hands out: the same as generateReportId for each, with
 * the time formatted once and the randomness drawn in one piece.
 */
export function generateReportIds(testNames: readonly string[], cc: string, asn: number, collectorId: string, now = new Date()): string[] {
  const { stems, random } = reportIdParts(testNames, cc, asn, collectorId, now);
  return stems.map((stem, i) => stem + random.slice(i * 16, i * 16 + 16));
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
