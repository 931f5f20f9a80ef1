import { describe, expect, it } from "vitest";
import { envelopeAroundMeasurementText, parsePostFile, withReportIdInserted } from "../../../origin/src/intake/post-file";

describe(".post files", () => {
  const m = { probe_cc: "IT", test_name: "ndt", test_keys: { a: [1, 2] } };
  it("reads all the forms intake writes, and the legacy collector's string content", () => {
    const plain = Buffer.from(JSON.stringify({ format: "json", content: { ...m, report_id: "R1" } }));
    expect(parsePostFile(plain)).toEqual({ reportId: "R1", measurement: { ...m, report_id: "R1" } });
    const inserted = withReportIdInserted(Buffer.from(`  {"format":"json","content":${JSON.stringify(m)}}`), "R2");
    expect(inserted.toString()).toBe(`  {"report_id":"R2","format":"json","content":${JSON.stringify(m)}}`);
    expect(parsePostFile(inserted)).toEqual({ reportId: "R2", measurement: m });
    const wrapped = envelopeAroundMeasurementText(JSON.stringify(m, null, 3), "R3");
    expect(parsePostFile(wrapped)).toEqual({ reportId: "R3", measurement: m });
    const legacy = Buffer.from(JSON.stringify({ format: "json", content: JSON.stringify({ ...m, report_id: "R4" }) }));
    expect(parsePostFile(legacy)).toEqual({ reportId: "R4", measurement: { ...m, report_id: "R4" } });
  });
  it("throws on what is not an envelope", () => {
    for (const bad of ["", "null", "[]", '{"content":5}', '{"content":"[1]"}', "{"]) expect(() => parsePostFile(Buffer.from(bad))).toThrow();
  });
});
