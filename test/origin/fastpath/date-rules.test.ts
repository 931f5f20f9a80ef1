import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { parsePyDateTime, parseUidTime } from "../../../origin/src/fastpath/scoring/py-datetime";
import { msm, NO_FINGERPRINTS, ZEROS } from "./fixtures";

const FUTURE = "Measurement start time from the future";
const OLD = "Measurement start time too old";

function scored(start: unknown, ctx: { measurementUid?: string; now?: Date }, extra: Record<string, unknown> = {}) {
  const m = msm("dns_consistency", {}, { measurement_start_time: start, ...extra });
  return scoreMeasurement(m, { fingerprints: NO_FINGERPRINTS, ...ctx });
}

describe("date rules", () => {
  const uid = "20240214100000.123456_IT_webconnectivity_0123456789abcdef";

  it("accepts up to one hour in the future and up to a year in the past", () => {
    expect(scored("2024-02-14 11:00:00", { measurementUid: uid }).scores).toEqual(ZEROS); // −3599.877 s
    expect(scored("2023-02-14 10:00:01", { measurementUid: uid }).scores).toEqual(ZEROS); // 365 days − 0.877 s
  });

  it("flags a start time more than an hour after reception", () => {
    const r = scored("2024-02-14 11:00:01", { measurementUid: uid });
    expect(r.scores).toEqual({ ...ZEROS, accuracy: 0.0, msg: FUTURE });
    expect(r.failure).toBe(true);
  });

  it("flags a start time more than a year before reception", () => {
    const r = scored("2023-02-14 09:59:59", { measurementUid: uid });
    expect(r.scores).toEqual({ ...ZEROS, accuracy: 0.0, msg: OLD });
  });

  it("uses the microseconds of the uid", () => {
    // 31536000 s exactly is allowed; the uid's .999999 pushes it over.
    expect(scored("2023-02-14 10:00:00", { measurementUid: "20240214100000.000000_IT_x_0" }).scores).toEqual(ZEROS);
    expect(scored("2023-02-14 10:00:00", { measurementUid: "20240214100000.999999_IT_x_0" }).scores.msg).toBe(OLD);
  });

  it("falls back to the measurement's own uid, then to `now`", () => {
    expect(scored("2030-01-01 00:00:00", {}, { measurement_uid: uid }).scores.msg).toBe(FUTURE);
    expect(scored("2030-01-01 00:00:00", { now: new Date("2024-02-14T10:00:00Z") }).scores.msg).toBe(FUTURE);
    expect(scored("2030-01-01 00:00:00", { measurementUid: "bogus", now: new Date("2024-02-14T10:00:00Z") }).scores.msg).toBe(FUTURE);
  });

  it("skips the check without a usable reception time or start time", () => {
    expect(scored("2030-01-01 00:00:00", {}).scores).toEqual(ZEROS);
    expect(scored("2030-01-01 00:00:00", { measurementUid: "01202102037f9c2ba4e88f827d61604550760585" }).scores).toEqual(ZEROS);
    expect(scored("2030-01-01 00:00:00", { measurementUid: "20241301000000.000000_IT_x_0" }).scores).toEqual(ZEROS);
    expect(scored("soon", { measurementUid: uid }).scores).toEqual(ZEROS);
    expect(scored(null, { measurementUid: uid }).scores).toEqual(ZEROS);
    expect(scored(1707904800, { measurementUid: uid }).scores).toEqual(ZEROS);
  });

  it("applies to scores of every shape", () => {
    const m = msm("riseupvpn", {}, { measurement_start_time: "2030-01-01 00:00:00" });
    const r = scoreMeasurement(m, { fingerprints: NO_FINGERPRINTS, measurementUid: uid });
    expect(r.scores).toEqual({ accuracy: 0.0, msg: FUTURE });
  });
});

describe("timestamp parsing (Python strptime rules)", () => {
  it("parses the measurement format, single digits and extra spaces included", () => {
    expect(parsePyDateTime("2024-02-14 09:06:17")).toBe(Date.UTC(2024, 1, 14, 9, 6, 17));
    expect(parsePyDateTime("2024-2-4 9:6:7")).toBe(Date.UTC(2024, 1, 4, 9, 6, 7));
    expect(parsePyDateTime("2024-02-14   09:06:17")).toBe(Date.UTC(2024, 1, 14, 9, 6, 17));
  });

  it("rejects invalid dates and trailing data", () => {
    for (const s of ["2023-02-29 00:00:00", "2024-02-14 24:00:00", "2024-02-14 09:06:60", "2024-02-14T09:06:17", "2024-02-14 09:06:17Z", "0000-01-01 00:00:00", ""]) {
      expect(parsePyDateTime(s), s).toBeNull();
    }
    expect(parsePyDateTime(5)).toBeNull();
  });

  it("reads the uid timestamp", () => {
    expect(parseUidTime("20210208220710.181572_MA_ndt_7888edc7748936bf")).toBeCloseTo(Date.UTC(2021, 1, 8, 22, 7, 10) + 181.572, 6);
    expect(parseUidTime("19990101000000.000000_XX")).toBeNull();
    expect(parseUidTime("2021020822")).toBeNull();
  });
});

describe("canonical timestamps and uids (read without regex or Date)", () => {
  // Reference: the calendar as Date sees it, for fields already split out.
  const ref = (y: number, mo: number, d: number, h: number, mi: number, s: number): number | null => {
    if (y < 1 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59 || d < 1) return null;
    const t = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
    t.setUTCFullYear(y);
    return t.getUTCMonth() === mo - 1 && t.getUTCDate() === d ? t.getTime() : null;
  };
  const p2 = (n: number) => String(n).padStart(2, "0");
  const fields = fc.tuple(
    fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(1600, 1900, 2000, 2024, 2100)),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 62 }),
  );

  it("YYYY-MM-DD hh:mm:ss: every field combination, leap years and impossible dates included", () => {
    fc.assert(
      fc.property(fields, ([y, mo, d, h, mi, s]) => {
        const text = `${String(y).padStart(4, "0")}-${p2(mo)}-${p2(d)} ${p2(h)}:${p2(mi)}:${p2(s)}`;
        expect(parsePyDateTime(text), text).toBe(ref(y, mo, d, h, mi, s));
      }),
      { numRuns: 20_000 },
    );
  });

  it("uids: YYYYMMDDhhmmss.ffffff_ with the microseconds as a fraction of a millisecond", () => {
    fc.assert(
      fc.property(fields, fc.integer({ min: 0, max: 999_999 }), ([y, mo, d, h, mi, s], us) => {
        const year = 2000 + (y % 100);
        const uid = `${year}${p2(mo)}${p2(d)}${p2(h)}${p2(mi)}${p2(s)}.${String(us).padStart(6, "0")}_IT_web_connectivity_x`;
        const base = ref(year, mo, d, h, mi, s);
        // Out-of-range two-digit fields fall to the strptime-like reading (single-digit fields),
        // which may still find a date: only in-range fields are compared with the reference.
        if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 59) {
          expect(parseUidTime(uid), uid).toBe(base === null ? null : base + us / 1000);
        }
      }),
      { numRuns: 20_000 },
    );
  });
});
