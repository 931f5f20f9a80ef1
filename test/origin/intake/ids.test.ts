import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IntakeError } from "../../../origin/src/intake/errors";
import { bodyHash16, makeMeasurementUid, parseMeasurementUid, receptionMicros } from "../../../origin/src/intake/measurement-uid";
import { generateReportId, parseReportId } from "../../../origin/src/intake/report-id";

describe("report_id", () => {
  it("has the probe-contract shape: 61 characters for web_connectivity in IT AS30722 on collector 1", () => {
    const rid = generateReportId("web_connectivity", "IT", 30722, "1", new Date("2024-02-14T09:06:17.123Z"));
    expect(rid).toMatch(/^20240214T090617Z_webconnectivity_IT_30722_n1_[A-Za-z0-9]{16}$/);
    expect(rid).toHaveLength(61);
    expect(parseReportId(rid)).toEqual({ reportId: rid, testName: "webconnectivity", cc: "IT", asn: 30722 });
  });

  it("never contains + or / (base64 with 'o' for both), over many draws", () => {
    for (let i = 0; i < 2000; i++) expect(generateReportId("ndt", "DE", 3320, "7")).toMatch(/^[A-Za-z0-9_]+$/);
  });

  it("parses what it generates, for any test name, country and ASN", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9_]{1,25}[a-z0-9]$/),
        fc.stringMatching(/^[A-Z]{2}$/),
        fc.integer({ min: 0, max: 0xffffffff }),
        (name, cc, asn) => {
          const compact = name.replace(/_/g, "");
          fc.pre(compact.length >= 2 && compact.length <= 29);
          const parsed = parseReportId(generateReportId(name, cc, asn, "1"));
          expect(parsed).toMatchObject({ testName: compact, cc, asn });
        },
      ),
    );
  });

  const bad = [
    "", "..", "../../etc/passwd", "a/b/c/d/e/f", "20240214T090617Z_webconnectivity_IT_30722_n1/..",
    "20240214T090617Z_webconnectivity_IT_30722_n1_abc%2Fdef", "20240214T090617Z_webconnectivity_IT_30722_n1_abc\u0000",
    "20240214T090617Z_webconnectivity_ITA_30722_n1_abc", "20240214T090617Z_w_IT_30722_n1_abc",
    "20240214T090617Z_webconnectivity_IT_AS30722_n1_abc", "20200302T130853Z_AS197207_abcdefghijklmnop",
    "20240214T090617Z_webconnectivity_IT_30722_n1_abc_extra", "20240214T090617Z_webconnectivity_IT_99999999999_n1_abc",
    "20240214T090617Z_web.connectivity_IT_30722_n1_abc", `${"a".repeat(200)}_b_IT_1_n1_c`,
  ];
  it.each(bad)("refuses %j as Incorrect format", (rid) => {
    expect(() => parseReportId(rid)).toThrow(IntakeError);
    try {
      parseReportId(rid);
    } catch (err) {
      expect((err as IntakeError).status).toBe(400);
      expect((err as IntakeError).error).toBe("Incorrect format");
    }
  });

  it("accepts only [A-Za-z0-9_] report ids, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (s) => {
        try {
          parseReportId(s);
        } catch {
          return;
        }
        expect(s).toMatch(/^[A-Za-z0-9_]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("measurement_uid", () => {
  it("has the probe-contract shape and its hash is the first 16 hex of sha512 of the stored bytes", () => {
    const body = Buffer.from('{"format":"json","content":{}}');
    const uid = makeMeasurementUid("MA", "ndt", body, 1612822030181572n);
    expect(uid).toBe(`20210208220710.181572_MA_ndt_${createHash("sha512").update(body).digest("hex").slice(0, 16)}`);
    expect(bodyHash16(body)).toBe(uid.slice(-16));
    expect(parseMeasurementUid(uid)).toMatchObject({
      hourDir: "2021020822_MA_ndt",
      cc: "MA",
      testName: "ndt",
      receivedAt: new Date("2021-02-08T22:07:10.181Z"),
    });
  });

  it("drops underscores from the test name and sorts by reception time", () => {
    const uids = Array.from({ length: 500 }, () => makeMeasurementUid("IT", "web_connectivity", Buffer.from("x")));
    expect(new Set(uids).size).toBe(500);
    expect([...uids].sort()).toEqual(uids);
    expect(uids[0]).toMatch(/^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$/);
  });

  it("reception timestamps are strictly increasing and close to the wall clock", () => {
    let prev = 0n;
    for (let i = 0; i < 10_000; i++) {
      const t = receptionMicros();
      expect(t > prev).toBe(true);
      prev = t;
    }
    expect(Math.abs(Number(prev / 1000n) - Date.now())).toBeLessThan(1000);
  });

  it.each(["", "x", "../2021020822_MA_ndt/x", "20210208220710.181572_MA_ndt_7888edc7748936b", "20210208220710.181572_ma_ndt_7888edc7748936bf", "20210208220710.181572_MA_n/dt_7888edc7748936bf", "20211308220710.181572_MA_ndt_7888edc7748936bf"])(
    "parseMeasurementUid(%j) is null",
    (s) => expect(parseMeasurementUid(s)).toBeNull(),
  );
});
