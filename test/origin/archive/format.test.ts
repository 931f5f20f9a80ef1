import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { archiveKey, archiveNumber, archivePrefix, hourDirDate, parseHourDir } from "../../../origin/src/archive/keys";
import { gzipMember, isSingleLine, jsonlLine, readLine, readMember } from "../../../origin/src/archive/jsonl-member";
import { buildPostcan } from "../../../origin/src/archive/postcan";
import { contentSpan, measurementBytes, PostBodyError, readPost } from "../../../origin/src/archive/post-body";
import { envelopeAroundMeasurementText, parsePostFile, withReportIdInserted } from "../../../origin/src/intake/post-file";

// The archive's byte formats: the measurement cut out of a .post file, JSONL members, postcans and
// key names, checked against the standard tools (gzip, tar) where they matter.

const tmp = mkdtempSync(path.join(os.tmpdir(), "archive-format-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const b = (s: string) => Buffer.from(s, "utf8");

describe("measurementBytes: the exact measurement inside a .post envelope", () => {
  it("returns the content's bytes untouched, whatever their formatting", () => {
    const text = '{ "test_runtime" : 1.50, "s":"caf\\u00e9 \\"}\\" {", "a" :[1,{"b":"]"}] , "n":null}';
    const report = withReportIdInserted(b(`{"format":"json","content":${text}}`), "rid");
    expect(measurementBytes(report).toString()).toBe(text);
    expect(measurementBytes(envelopeAroundMeasurementText(text, "rid")).toString()).toBe(text);
    expect(measurementBytes(b(`\ufeff {\n"content" :\t${text}\n,"format":"json" }`)).toString()).toBe(text);
  });

  it("decodes a legacy string content, follows escaped keys, and takes the last duplicate like JSON.parse", () => {
    expect(measurementBytes(b(JSON.stringify({ format: "json", content: '{"a": 1}' }))).toString()).toBe('{"a": 1}');
    expect(measurementBytes(b('{"cont\\u0065nt":{"x":1}}')).toString()).toBe('{"x":1}');
    expect(measurementBytes(b('{"content":{"old":1},"content":{"new":2}}')).toString()).toBe('{"new":2}');
    expect(contentSpan(b('{"content":{"a":1}}'))).toMatchObject({ start: 11, end: 18, kind: "object" });
    // Not the last member: found by scanning; the envelope report id is picked up either side of it.
    expect(contentSpan(b('{"content":{"a":"}"},"report_id":"r"}'))).toMatchObject({ start: 11, end: 20, kind: "object", envelopeReportId: "r" });
  });

  it("readPost: bytes, the parsed measurement and the report id, as parsePostFile gives them", () => {
    const text = '{"report_id":"inner","x": 1.50}';
    const posts = [
      withReportIdInserted(b(`{"format":"json","content":${text}}`), "outer"),
      b(`{"format":"json","content":${text},"report_id":"outer"}`),
      envelopeAroundMeasurementText('{"x": 1.50}', "outer"),
      b(JSON.stringify({ format: "json", report_id: "outer", content: '{"report_id":"","x":1}' })),
    ];
    for (const post of posts) {
      const r = readPost(post);
      const ref = parsePostFile(post);
      expect(r.reportId).toBe(ref.reportId);
      expect(r.measurement).toEqual(ref.measurement);
      expect(JSON.parse(r.bytes.toString())).toEqual(ref.measurement);
    }
    expect(readPost(posts[0]!).bytes.toString()).toBe(text);
    expect(() => readPost(b('{"content":"[1,2]"}'))).toThrow(PostBodyError);
    expect(() => readPost(b('{"content":"not json"}'))).toThrow(PostBodyError);
  });

  it("refuses what is not an envelope with content", () => {
    for (const bad of ["[]", '{"format":"json"}', "{}", '{"content":', '{"content":{"a":1}', '{"content":12}', "not json"]) {
      expect(() => measurementBytes(b(bad)), bad).toThrow(PostBodyError);
    }
  });

  it("agrees with parsePostFile on arbitrary JSON measurements and envelope layouts", () => {
    const ws = fc.constantFrom("", " ", "\n", "\t ", "\r\n");
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), ws, ws, fc.boolean(), (msm, w1, w2, first) => {
        const text = JSON.stringify(msm);
        const content = `"content"${w1}:${w2}${text}`;
        const post = b(first ? `{${content},"format":"json"}` : `{"format":"json",${w1}${content}${w2}}`);
        const cut = measurementBytes(post);
        expect(cut.toString()).toBe(text);
        expect(JSON.parse(cut.toString())).toEqual(parsePostFile(post).measurement);
      }),
      { numRuns: 300 },
    );
  });
});

describe("JSONL members", () => {
  const lines = ['{"a":1}', '{"b":"two"}', '{\n"pretty": true\r\n}', `{"big":"${"x".repeat(70_000)}"}`].map(b);

  it("one line per measurement: raw CR/LF (whitespace in JSON) become spaces, nothing else changes", () => {
    expect(jsonlLine(b('{"a":1}')).toString()).toBe('{"a":1}\n');
    const pretty = jsonlLine(lines[2]!).toString();
    expect(pretty).toBe('{ "pretty": true  }\n');
    expect(JSON.parse(pretty)).toEqual(JSON.parse(lines[2]!.toString()));
    expect(isSingleLine(lines[0]!)).toBe(true);
    expect(isSingleLine(lines[2]!)).toBe(false);
  });

  it("concatenated members are one valid JSONL.gz for gzip -dc, and each member reads alone", async () => {
    const members = await Promise.all(lines.map((l) => gzipMember(jsonlLine(l))));
    const file = Buffer.concat(members);
    const p = path.join(tmp, "m.jsonl.gz");
    writeFileSync(p, file);
    const text = execFileSync("gzip", ["-dc", p], { encoding: "utf8" });
    expect(text.split("\n").slice(0, -1).map((l) => JSON.parse(l))).toEqual(lines.map((l) => JSON.parse(l.toString())));
    expect(gunzipSync(file).toString()).toBe(text); // zlib reads all members too
    let offset = 0;
    for (const [i, m] of members.entries()) {
      const one = await readMember(file.subarray(offset, offset + m.length), 1 << 20);
      expect(one.equals(jsonlLine(lines[i]!).subarray(0, -1))).toBe(true);
      offset += m.length;
    }
    // Deterministic: the same line compresses to the same member.
    expect((await gzipMember(jsonlLine(lines[0]!))).equals(members[0]!)).toBe(true);
  });

  it("readMember bounds the decompressed size; readLine finds a line in a whole file", async () => {
    const big = await gzipMember(jsonlLine(lines[3]!));
    await expect(readMember(big, 1000)).rejects.toThrow();
    const file = Buffer.concat(await Promise.all(lines.map((l) => gzipMember(jsonlLine(l)))));
    expect((await readLine(file, 1, 1 << 20))?.toString()).toBe('{"b":"two"}');
    expect(await readLine(file, 4, 1 << 20)).toBeNull();
  });
});

describe("postcans", () => {
  const t = new Date("2024-02-14T09:06:17.250Z");
  const members = [
    { name: "2024021409_IT_webconnectivity/20240214090617.250000_IT_webconnectivity_0123456789abcdef.post", data: b('{"content":{}}'), mtime: t },
    // Longer than the 100 bytes a plain tar header holds: needs a pax/ustar extension.
    { name: `2024021409_IT_${"x".repeat(60)}/20240214090617.250001_IT_${"x".repeat(60)}_0123456789abcdef.post`, data: b("é".repeat(3000)), mtime: t },
  ];

  it("are deterministic and list and extract with the system tar", async () => {
    const can = await buildPostcan(members);
    expect((await buildPostcan(members)).equals(can)).toBe(true);
    const p = path.join(tmp, "c.tar.gz");
    writeFileSync(p, can);
    expect(execFileSync("tar", ["-tzf", p], { encoding: "utf8" }).split("\n").filter(Boolean)).toEqual(members.map((m) => m.name));
    for (const m of members) expect(execFileSync("tar", ["-xzOf", p, m.name]).equals(m.data)).toBe(true);
    const listing = execFileSync("tar", ["--utc", "-tvzf", p], { encoding: "utf8" });
    expect(listing).toContain("2024-02-14 09:06");
    expect(listing).toMatch(/^-rw-r--r-- /);
  });
});

describe("archive keys", () => {
  it("follow raw/{YYYYMMDD}/{HH}/{CC}/{testname}/{hourdir}.n{collector}.{N}.{ext}", () => {
    const hd = "2024021409_IT_webconnectivity";
    expect(archiveKey(hd, "1", 0, "tar.gz")).toBe("raw/20240214/09/IT/webconnectivity/2024021409_IT_webconnectivity.n1.0.tar.gz");
    expect(archiveKey(hd, "12", 7, "jsonl.gz")).toBe("raw/20240214/09/IT/webconnectivity/2024021409_IT_webconnectivity.n12.7.jsonl.gz");
    const prefix = archivePrefix(hd, "1");
    expect(archiveNumber(archiveKey(hd, "1", 42, "jsonl.gz"), prefix)).toBe(42);
    expect(archiveNumber(archiveKey(hd, "11", 3, "tar.gz"), prefix)).toBeNull(); // another collector
    expect(archiveNumber(`${prefix}3.tar.gz.tmp`, prefix)).toBeNull();
    expect(hourDirDate(hd)).toBe("2024-02-14");
    expect(parseHourDir(hd)).toMatchObject({ day: "20240214", hour: "09", cc: "IT", testName: "webconnectivity" });
    expect(() => parseHourDir("../x")).toThrow();
  });
});
