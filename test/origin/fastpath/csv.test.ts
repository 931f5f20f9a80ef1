import { describe, expect, it } from "vitest";
import { parseCsv, parseFingerprintCsv } from "../../../origin/src/fastpath/fingerprints";

const HEAD = "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes";

describe("parseCsv (RFC 4180)", () => {
  it("plain fields, LF, CRLF and CR line ends, no trailing newline", () => {
    expect(parseCsv("a,b\nc,d").map((r) => r.fields)).toEqual([["a", "b"], ["c", "d"]]);
    expect(parseCsv("a,b\r\nc,d\r\n").map((r) => r.fields)).toEqual([["a", "b"], ["c", "d"]]);
    expect(parseCsv("a,b\rc,d\r").map((r) => r.fields)).toEqual([["a", "b"], ["c", "d"]]);
  });

  it("quoted fields with commas, escaped quotes and line breaks", () => {
    const recs = parseCsv('x,"a,b","say ""hi""","line1\r\nline2\nline3"\r\nnext,"",,end\r\n');
    expect(recs.map((r) => r.fields)).toEqual([
      ["x", "a,b", 'say "hi"', "line1\r\nline2\nline3"],
      ["next", "", "", "end"],
    ]);
    expect(recs.map((r) => r.line)).toEqual([1, 4]);
  });

  it("empty fields, trailing comma, blank lines, BOM", () => {
    expect(parseCsv("\uFEFFa,,\n\n,b\n").map((r) => r.fields)).toEqual([["a", "", ""], ["", "b"]]);
    expect(parseCsv("")).toEqual([]);
  });

  it("rejects an unterminated quote or text after a closing quote, naming the line", () => {
    expect(() => parseCsv('a,b\n"open,c\n')).toThrow(/line 2: unterminated/);
    expect(() => parseCsv('a\n"x"y,z\n')).toThrow(/line 2: unexpected character after closing quote/);
  });
});

describe("parseFingerprintCsv", () => {
  it("parses and normalises rows", () => {
    const fps = parseFingerprintCsv(
      "http",
      `${HEAD}\r\nooni.ae_0,nat,ooni.sa_1,header.server,prefix,Protected by WireFilter,5,"AE,sa",ooni,,\r\n`,
    );
    expect(fps).toEqual([
      {
        name: "ooni.ae_0",
        scope: "nat",
        other_names: "ooni.sa_1",
        location_found: "header.server",
        pattern_type: "prefix",
        pattern: "Protected by WireFilter",
        confidence_no_fp: 5,
        expected_countries: ["AE", "SA"],
        source: "ooni",
        exp_url: "",
        notes: "",
      },
    ]);
  });

  it("accepts columns in any order", () => {
    const head = HEAD.split(",").reverse().join(",");
    const row = ["ooni.by_4", "isp", "", "dns", "full", "134.17.0.7", "5", "BY", "ooni", "", "n"].reverse().join(",");
    expect(parseFingerprintCsv("dns", `${head}\n${row}\n`)[0]).toMatchObject({ name: "ooni.by_4", pattern: "134.17.0.7" });
  });

  it("throws naming the line and field of a bad row", () => {
    const loc = { dns: "dns", http: "body" };
    const bad = (row: string, kind: "dns" | "http" = "dns") => () =>
      parseFingerprintCsv(
        kind,
        `${HEAD}\nok,isp,,${loc[kind]},full,1.1.1.1,5,BY,ooni,,\n"multi\nline",isp,,${loc[kind]},full,1.1.1.1,5,BY,ooni,,\n${row}\n`,
      );
    expect(bad("x,galaxy,,dns,full,1.1.1.1,5,BY,ooni,,")).toThrow(/fingerprints_dns\.csv line 5: field "scope"/);
    expect(bad("x,isp,,body,full,1.1.1.1,5,BY,ooni,,")).toThrow(/line 5: field "location_found"/);
    expect(bad("x,isp,,title,full,a,5,BY,ooni,,", "http")).toThrow(/line 5: field "location_found"/);
    expect(bad("x,isp,,dns,glob,1.1.1.1,5,BY,ooni,,")).toThrow(/line 5: field "pattern_type"/);
    expect(bad("x,isp,,dns,full,,5,BY,ooni,,")).toThrow(/line 5: field "pattern"/);
    expect(bad("x,isp,,dns,full,1.1.1.1,high,BY,ooni,,")).toThrow(/line 5: field "confidence_no_fp"/);
    expect(bad("x,isp,,dns,full,1.1.1.1,5,Belarus,ooni,,")).toThrow(/line 5: field "expected_countries"/);
    expect(bad(",isp,,dns,full,1.1.1.1,5,BY,ooni,,")).toThrow(/line 5: field "name"/);
    expect(bad("x,isp,,dns,full,1.1.1.1,5,BY")).toThrow(/line 5: expected 11 fields, got 8/);
  });

  it("requires every column", () => {
    expect(() => parseFingerprintCsv("dns", "name,scope\nx,isp\n")).toThrow(/missing column "other_names"/);
    expect(() => parseFingerprintCsv("dns", "")).toThrow(/empty file/);
  });
});
