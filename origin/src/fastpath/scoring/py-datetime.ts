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

/** "YYYY-MM-DD hh:mm:ss" (UTC) → epoch milliseconds, or null where Python raises ValueError. */
export function parsePyDateTime(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const m = DATETIME_RE.exec(v);
  if (!m) return null;
  return toEpochMs(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/**
 * The reception time encoded in a measurement_uid ("20210208220710.181572_MA_ndt_…") in epoch
 * milliseconds (with the microseconds as a fraction), or null when the uid carries none.
 */
export function parseUidTime(uid: string): number | null {
  if (!uid.startsWith("20") || uid.length < 20) return null;
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
