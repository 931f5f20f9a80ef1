// The two timestamp formats of the fastpath, parsed as Python's strptime does (it accepts
// single-digit fields and any run of whitespace for the space) and validated as datetime()
// does (calendar days, seconds 0-59).

const DATETIME_RE =
  /^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])\s+(2[0-3]|[01]\d|\d):([0-5]\d|\d):(6[01]|[0-5]\d|\d)$/;

const UID_RE =
  /^(\d{4})(1[0-2]|0[1-9]|[1-9])(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])(2[0-3]|[01]\d|\d)([0-5]\d|\d)(6[01]|[0-5]\d|\d)\.(\d{1,6})_$/;

function toEpochMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number | null {
  if (y < 1 || s > 59) return null;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  // Date.UTC maps years 0-99 to 1900+; setUTCFullYear keeps them.
  check.setUTCFullYear(y);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return check.getTime();
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits2(v: string, i: number): number {
  const a = v.charCodeAt(i) - 48;
  const b = v.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The canonical form probes send, "YYYY-MM-DD hh:mm:ss" with every field zero padded, read
 * without a regex or Date objects (three of these per measurement were ~3 % of bytes → row).
 * undefined when `v` is not in that form (the general parser then decides); null when it is but
 * the date does not exist, as Python's datetime() refuses it.
 */
function parseCanonical(v: string): number | null | undefined {
  if (v.length !== 19 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 32 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) {
    return undefined;
  }
  const y1 = digits2(v, 0);
  const y2 = digits2(v, 2);
  const mo = digits2(v, 5);
  const d = digits2(v, 8);
  const h = digits2(v, 11);
  const mi = digits2(v, 14);
  const s = digits2(v, 17);
  if (y1 < 0 || y2 < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return undefined;
  const y = y1 * 100 + y2;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > MONTH_DAYS[mo - 1]! + (leap ? 1 : 0)) return null;
  return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

/** "YYYY-MM-DD hh:mm:ss" (UTC) → epoch milliseconds, or null where Python raises ValueError. */
export function parsePyDateTime(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const fast = parseCanonical(v);
  if (fast !== undefined) return fast;
  const m = DATETIME_RE.exec(v);
  if (!m) return null;
  return toEpochMs(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/**
 * Our own uids' form, "YYYYMMDDhhmmss.ffffff_", every field two digits and in range: UID_RE's first
 * alternatives read exactly these fields, so the result is the same without the regex. undefined
 * when the uid is not in that form.
 */
function parseUidCanonical(uid: string): number | null | undefined {
  if (uid.length < 22 || uid.charCodeAt(14) !== 46 || uid.charCodeAt(21) !== 95) return undefined;
  let frac = 0;
  for (let i = 15; i < 21; i++) {
    const c = uid.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    frac = frac * 10 + c;
  }
  const y1 = digits2(uid, 0);
  const y2 = digits2(uid, 2);
  const mo = digits2(uid, 4);
  const d = digits2(uid, 6);
  const h = digits2(uid, 8);
  const mi = digits2(uid, 10);
  const s = digits2(uid, 12);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  const y = y1 * 100 + y2;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > MONTH_DAYS[mo - 1]! + (leap ? 1 : 0)) return null;
  return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + frac / 1000;
}

/**
 * The reception time encoded in a measurement_uid ("20210208220710.181572_MA_ndt_…") in epoch
 * milliseconds (with the microseconds as a fraction), or null when the uid carries none.
 */
export function parseUidTime(uid: string): number | null {
  if (!uid.startsWith("20") || uid.length < 20) return null;
  const fast = parseUidCanonical(uid);
  if (fast !== undefined) return fast;
  const m = UID_RE.exec(uid.slice(0, 22));
  if (!m) return null;
  const base = toEpochMs(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (base === null) return null;
  return base + Number(m[7]!.padEnd(6, "0")) / 1000;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Epoch milliseconds → "YYYY-MM-DD hh:mm:ss" (UTC, fractions dropped). */
export function formatDateTime(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}
