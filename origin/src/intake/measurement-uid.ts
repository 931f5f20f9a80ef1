import { createHash } from "node:crypto";

// measurement_uid: `{UTC %Y%m%d%H%M%S.%f}_{CC}_{test name without "_"}_{first 16 hex of sha512}`,
// e.g. 20210208220710.181572_MA_ndt_7888edc7748936bf. The timestamp is the reception time, so uids
// sort by time; the spool's hour directory `{YYYYMMDDHH}_{CC}_{testname}` is derived from the uid,
// which makes a lookup by uid one stat, never a scan.

export const UID_RE = /^(\d{14})\.(\d{6})_([A-Z]{2})_([A-Za-z0-9.+-]{1,64})_([0-9a-f]{16})$/;
export const HOUR_DIR_RE = /^\d{10}_[A-Z]{2}_[A-Za-z0-9.+-]{1,64}$/;

let lastMicros = 0n;

/**
 * Wall-clock microseconds, strictly increasing within this process: two submissions can never get
 * the same timestamp, and the order of uids is the order of reception.
 */
export function receptionMicros(): bigint {
  const ms = BigInt(Date.now());
  const subMs = process.hrtime.bigint() / 1000n % 1000n;
  let us = ms * 1000n + subMs;
  if (us <= lastMicros) us = lastMicros + 1n;
  lastMicros = us;
  return us;
}

function formatMicros(us: bigint): string {
  const d = new Date(Number(us / 1000n));
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  return `${date}${time}.${String(us % 1_000_000n).padStart(6, "0")}`;
}

export function bodyHash16(body: Uint8Array): string {
  return createHash("sha512").update(body).digest("hex").slice(0, 16);
}

export function makeMeasurementUid(cc: string, testName: string, stored: Uint8Array, micros = receptionMicros()): string {
  return formatMeasurementUid(cc, testName, bodyHash16(stored), micros);
}

/** The same, from an already computed `bodyHash16` (the intake needs the hash on its own too). */
export function formatMeasurementUid(cc: string, testName: string, hash16: string, micros: bigint): string {
  return `${formatMicros(micros)}_${cc}_${testName.replace(/_/g, "")}_${hash16}`;
}

/** The hour directory of the hour before `hourDir`'s, same country and test: `2024010100_IT_x` → `2023123123_IT_x`. */
export function previousHourDir(hourDir: string): string {
  const h = hourDir.slice(0, 10);
  const t = Date.UTC(Number(h.slice(0, 4)), Number(h.slice(4, 6)) - 1, Number(h.slice(6, 8)), Number(h.slice(8, 10))) - 3_600_000;
  return `${formatMicros(BigInt(t) * 1000n).slice(0, 10)}${hourDir.slice(10)}`;
}

export interface ParsedUid {
  uid: string;
  hourDir: string;
  cc: string;
  testName: string;
  hash: string;
  /** Reception time (millisecond precision). */
  receivedAt: Date;
}

/** Null for anything that is not a well-formed uid (so user input never reaches a path unchecked). */
export function parseMeasurementUid(uid: string): ParsedUid | null {
  const m = UID_RE.exec(uid);
  if (!m) return null;
  const [, ts, frac, cc, testName, hash] = m as unknown as [string, string, string, string, string, string];
  const iso = `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(8, 10)}:${ts.slice(10, 12)}:${ts.slice(12, 14)}.${frac.slice(0, 3)}Z`;
  const receivedAt = new Date(iso);
  if (Number.isNaN(receivedAt.getTime())) return null;
  return { uid, hourDir: `${ts.slice(0, 10)}_${cc}_${testName}`, cc, testName, hash, receivedAt };
}
