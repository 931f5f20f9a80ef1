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
  it("reads text as UTF-8 whether the file is pure ASCII or not, from a Buffer or a view into a larger array", () => {
    const expectText = (bytes: Uint8Array, input: unknown) =>
      expect(parsePostFile(bytes).measurement.input).toBe(input);
    const post = (input: string) => `{"format":"json","content":{"input":${JSON.stringify(input)}}}`;
    expectText(Buffer.from(post("http://example.org/")), "http://example.org/");
    expectText(Buffer.from(post("café — 🌍")), "café — 🌍");
    expectText(Buffer.from(post("\\u00e9 \u00e9")), "\\u00e9 \u00e9");
    // Invalid UTF-8 becomes U+FFFD, as Buffer#toString and TextDecoder do.
    const invalid = Buffer.concat([Buffer.from('{"content":{"input":"a'), Buffer.from([0xff, 0xc3]), Buffer.from('b"}}')]);
    expectText(invalid, "a\ufffd\ufffdb");
    // A Uint8Array that is not a Buffer and starts inside a larger ArrayBuffer.
    const ascii = Buffer.from(`xxxx${post("plain")}yyyy`);
    const view = new Uint8Array(ascii.buffer.slice(ascii.byteOffset, ascii.byteOffset + ascii.length), 4, ascii.length - 8);
    expectText(view, "plain");
    const utf8 = Buffer.from(`xxxx${post("ünïcode")}yyyy`);
    expectText(new Uint8Array(utf8.buffer.slice(utf8.byteOffset, utf8.byteOffset + utf8.length), 4, utf8.length - 8), "ünïcode");
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
