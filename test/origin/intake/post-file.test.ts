import { describe, expect, it } from "vitest";
import { measurementBytes } from "../../../origin/src/archive/post-body";
import { envelopeAroundMeasurementText, parsePostFile, withReportIdInserted } from "../../../origin/src/intake/post-file";

describe(".post files", () => {
  const m = { probe_cc: "IT", test_name: "ndt", test_keys: { a: [1, 2] } };
  it("reads all the forms intake writes, and the legacy collector's string content", () => {
    const plain = Buffer.from(JSON.stringify({ format: "json", content: { ...m, report_id: "R1" } }));
    expect(parsePostFile(plain)).toEqual({ reportId: "R1", measurement: { ...m, report_id: "R1" }, isVerified: "u" });
    const inserted = withReportIdInserted(Buffer.from(`  {"format":"json","content":${JSON.stringify(m)}}`), "R2");
    expect(inserted.toString()).toBe(`  {"report_id":"R2","format":"json","content":${JSON.stringify(m)}}`);
    expect(parsePostFile(inserted)).toEqual({ reportId: "R2", measurement: m, isVerified: "u" });
    const wrapped = envelopeAroundMeasurementText(JSON.stringify(m, null, 3), "R3");
    expect(parsePostFile(wrapped)).toEqual({ reportId: "R3", measurement: m, isVerified: "u" });
    const legacy = Buffer.from(JSON.stringify({ format: "json", content: JSON.stringify({ ...m, report_id: "R4" }) }));
    expect(parsePostFile(legacy)).toEqual({ reportId: "R4", measurement: { ...m, report_id: "R4" }, isVerified: "u" });
  });
  it("records an anonymous-credential verdict before content; the measurement bytes stay the probe's", () => {
    const text = JSON.stringify(m, null, 2);
    for (const code of ["t", "f"] as const) {
      const post = envelopeAroundMeasurementText(text, "R5", code);
      expect(post.toString()).toBe(`{"format":"json","report_id":"R5","is_verified":"${code}","content":${text}}`);
      expect(parsePostFile(post)).toEqual({ reportId: "R5", measurement: m, isVerified: code });
      expect(measurementBytes(post).toString()).toBe(text);
    }
    // "u" is the default and leaves the envelope as it always was; anything else reads as "u".
    expect(envelopeAroundMeasurementText(text, "R6", "u").toString()).toBe(`{"format":"json","report_id":"R6","content":${text}}`);
    expect(parsePostFile(Buffer.from(`{"is_verified":"yes","content":${text}}`)).isVerified).toBe("u");
  });
  it("throws on what is not an envelope", () => {
    for (const bad of ["", "null", "[]", '{"content":5}', '{"content":"[1]"}', "{"]) expect(() => parsePostFile(Buffer.from(bad))).toThrow();
  });
});

describe("parsePostFile and hostile keys", () => {
  it("keeps a \"__proto__\" key as data: it never becomes the measurement's prototype", () => {
    for (const content of [
      '{"__proto__":{"test_keys":{"blocking":"dns"}},"test_name":"web_connectivity"}',
      JSON.stringify('{"__proto__":{"test_keys":{"blocking":"dns"}},"test_name":"web_connectivity"}'),
    ]) {
      const { measurement } = parsePostFile(Buffer.from(`{"format":"json","content":${content}}`));
      expect(Object.getPrototypeOf(measurement)).toBe(Object.prototype);
      expect(Object.hasOwn(measurement, "__proto__")).toBe(true);
      expect(measurement.test_keys).toBeUndefined();
      expect(measurement.test_name).toBe("web_connectivity");
    }
  });
});
