import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  FINGERPRINT_SCOPES,
  isConfirmed,
  loadFingerprintDir,
  matchBody,
  matchDnsValue,
  matchHeaders,
  matchPattern,
  parseExpectedCountries,
  scopeLocality,
} from "../../../origin/src/fastpath/fingerprints";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { fp, fpSet, msm, ZEROS } from "./fixtures";

const names = (list: readonly { name: string }[]) => list.map((f) => f.name);
const headers = (h: Record<string, unknown>) => new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

describe("matchPattern", () => {
  it("full, prefix, contains, regexp", () => {
    expect(matchPattern("full", "abc", "abc")).toBe(true);
    expect(matchPattern("full", "abc", "abcd")).toBe(false);
    expect(matchPattern("prefix", "ab", "abcd")).toBe(true);
    expect(matchPattern("prefix", "bc", "abcd")).toBe(false);
    expect(matchPattern("contains", "bc", "abcd")).toBe(true);
    expect(matchPattern("contains", "x", "abcd")).toBe(false);
    expect(matchPattern("regexp", "a.c", "xxabcxx")).toBe(true);
    expect(matchPattern("regexp", "^b", "abc")).toBe(false);
  });
});

describe("DNS fingerprints", () => {
  const set = fpSet(
    [
      fp({ name: "z_full", location_found: "dns", pattern_type: "full", pattern: "10.10.34.36" }),
      fp({ name: "a_same", location_found: "dns", pattern_type: "full", pattern: "10.10.34.36" }),
      fp({ name: "pfx", location_found: "dns", pattern_type: "prefix", pattern: "10.10." }),
      fp({ name: "host", location_found: "dns", pattern_type: "full", pattern: "blocked.example" }),
    ],
    [],
  );
  const strict = fpSet(set.dns as never, [], "strict");

  it("matches by equality in name order (fastpath), pattern type ignored", () => {
    expect(names(matchDnsValue(set, "10.10.34.36"))).toEqual(["a_same", "z_full"]);
    expect(names(matchDnsValue(set, "10.10."))).toEqual(["pfx"]);
    expect(names(matchDnsValue(set, "10.10.1.1"))).toEqual([]);
  });

  it("honours the pattern type in strict mode", () => {
    expect(names(matchDnsValue(strict, "10.10.1.1"))).toEqual(["pfx"]);
    expect(names(matchDnsValue(strict, "10.10.34.36"))).toEqual(["a_same", "pfx", "z_full"]);
  });

  it("reads ipv4, else hostname, else ipv6 from each answer", () => {
    const score = (answers: unknown[]) =>
      scoreMeasurement(msm("web_connectivity", { queries: [{ answers }], blocking: "dns" }), { fingerprints: set }).scores
        .fingerprints as { name: string }[] | undefined;
    expect(names(score([{ hostname: "blocked.example" }]) ?? [])).toEqual(["host"]);
    expect(score([{ ipv4: "1.1.1.1", hostname: "blocked.example" }])).toBeUndefined();
    expect(names(score([{ ipv6: "10.10.34.36" }]) ?? [])).toEqual(["a_same", "z_full"]);
    // one match per matching answer, as upstream
    expect(names(score([{ hostname: "blocked.example" }, { hostname: "blocked.example" }]) ?? [])).toEqual(["host", "host"]);
  });
});

describe("HTTP body fingerprints", () => {
  const set = fpSet(
    [],
    [
      fp({ name: "c1", pattern: "Access denied" }),
      fp({ name: "c2", pattern: "مزيد من المعلومات" }),
      fp({ name: "full", pattern_type: "full", pattern: "<HTML></HTML>" }),
      fp({ name: "pre", pattern_type: "prefix", pattern: "<!-- block" }),
      fp({ name: "rx", pattern_type: "regexp", pattern: "U\\.S\\..*Command" }),
    ],
  );
  const strict = fpSet([], set.http as never, "strict");

  it("fastpath: every body pattern is a literal substring", () => {
    expect(names(matchBody(set, "<p>Access denied</p>"))).toEqual(["c1"]);
    expect(names(matchBody(set, "x <HTML></HTML> x <!-- block"))).toEqual(["full", "pre"]);
    expect(names(matchBody(set, "U.S. Cyber Command"))).toEqual([]);
    expect(names(matchBody(set, "literally U\\.S\\..*Command"))).toEqual(["rx"]);
    expect(names(matchBody(set, "… لمزيد من المعلومات …"))).toEqual(["c2"]);
  });

  it("strict: full, prefix and regexp bodies", () => {
    expect(names(matchBody(strict, "<HTML></HTML>"))).toEqual(["full"]);
    expect(names(matchBody(strict, "x<HTML></HTML>"))).toEqual([]);
    expect(names(matchBody(strict, "<!-- blocked -->"))).toEqual(["pre"]);
    expect(names(matchBody(strict, "x <!-- blocked -->"))).toEqual([]);
    expect(names(matchBody(strict, "U.S. Cyber Command and Access denied"))).toEqual(["c1", "rx"]);
  });

  it("matches decoded base64 bytes like text", () => {
    const bytes = new TextEncoder().encode("… لمزيد من المعلومات … Access denied");
    expect(names(matchBody(set, bytes))).toEqual(["c1", "c2"]);
    expect(names(matchBody(strict, new TextEncoder().encode("<HTML></HTML>")))).toEqual(["full"]);
    expect(names(matchBody(strict, new TextEncoder().encode("<!-- block")))).toEqual(["pre"]);
    expect(names(matchBody(strict, new TextEncoder().encode("U.S. Space Command")))).toEqual(["rx"]);
  });
});

describe("HTTP header fingerprints", () => {
  const set = fpSet(
    [],
    [
      fp({ name: "loc", location_found: "header.location", pattern_type: "prefix", pattern: "http://block.example/" }),
      fp({ name: "srv", location_found: "header.server", pattern_type: "full", pattern: "SonicWALL" }),
      fp({ name: "via", location_found: "header.via", pattern_type: "contains", pattern: "Cisco-WSA" }),
      fp({ name: "rx", location_found: "header.server", pattern_type: "regexp", pattern: "^Barracuda" }),
      fp({ name: "Case", location_found: "header.X-App-Url", pattern_type: "full", pattern: "https://blocked.netalerts.io" }),
    ],
  );
  const strict = fpSet([], set.http as never, "strict");

  it("matches header names case-insensitively", () => {
    expect(names(matchHeaders(set, headers({ LOCATION: "http://block.example/x" }))!)).toEqual(["loc"]);
    expect(names(matchHeaders(set, headers({ "x-app-url": "https://blocked.netalerts.io" }))!)).toEqual(["Case"]);
  });

  it("fastpath: full and prefix only", () => {
    expect(names(matchHeaders(set, headers({ Server: "SonicWALL", Via: "1.1 Cisco-WSA/9" }))!)).toEqual(["srv"]);
    expect(names(matchHeaders(set, headers({ Server: "SonicWALL 2" }))!)).toEqual([]);
    expect(names(matchHeaders(set, headers({ Server: "Barracuda/NG" }))!)).toEqual([]);
  });

  it("strict: contains and regexp too", () => {
    expect(names(matchHeaders(strict, headers({ Server: "Barracuda/NG", Via: "1.1 Cisco-WSA/9" }))!)).toEqual(["rx", "via"]);
  });

  it("decodes base64 values for prefix rules, fails on bad base64", () => {
    const data = Buffer.from("http://block.example/page").toString("base64");
    expect(names(matchHeaders(set, headers({ Location: { format: "base64", data } }))!)).toEqual(["loc"]);
    // full rules compare the raw value only (as upstream)
    const srv = Buffer.from("SonicWALL").toString("base64");
    expect(names(matchHeaders(set, headers({ Server: { format: "base64", data: srv } }))!)).toEqual([]);
    expect(names(matchHeaders(strict, headers({ Server: { format: "base64", data: srv } }))!)).toEqual(["srv"]);
    expect(matchHeaders(set, headers({ Location: { format: "base64", data: "aGk" } }))).toBeNull();
    expect(names(matchHeaders(set, headers({ Location: 5, Server: ["SonicWALL"] }))!)).toEqual([]);
  });

  it("many rules on one header (indexed by pattern start): the same matches as testing every rule", () => {
    // Nested prefixes, prefixes shorter and longer than the index key, full rules equal to a
    // prefix, a pattern that is a prefix of the value's first characters but not of the value.
    const patterns = [
      "http://",
      "http://blo",
      "http://block.example",
      "http://block.example/",
      "http://block.example/deny?x=1",
      "https://warning.rt.ru/",
      "https://warning.rt.ru/?id=",
      "http://block.example/deny",
    ];
    const rules = patterns.flatMap((pattern, i) => [
      fp({ name: `p${i}`, location_found: "header.location", pattern_type: "prefix", pattern }),
      fp({ name: `f${i}`, location_found: "header.location", pattern_type: "full", pattern }),
    ]);
    const many = fpSet([], rules);
    const values = [
      ...patterns,
      ...patterns.map((p) => `${p}more`),
      ...patterns.map((p) => p.slice(0, -1)),
      "",
      "https://warning.rt.ru/?id=7&u=x",
      "http://block.examplf/",
    ];
    for (const value of values) {
      const expected = rules
        .filter((r) => (r.pattern_type === "full" ? value === r.pattern : value.startsWith(r.pattern)))
        .map((r) => r.name)
        .sort();
      expect(names(matchHeaders(many, headers({ Location: value }))!).sort(), value).toEqual(expected);
      const data = Buffer.from(value).toString("base64");
      const decodedExpected = expected.filter((n) => n.startsWith("p"));
      expect(names(matchHeaders(many, headers({ Location: { format: "base64", data } }))!).sort(), value).toEqual(decodedExpected);
    }
  });
});

describe("scopes, localities and confirmation", () => {
  it("maps scopes to localities", () => {
    expect(scopeLocality("inst")).toBe("local");
    expect(scopeLocality("isp")).toBe("isp");
    expect(scopeLocality("nat")).toBe("country");
    expect(scopeLocality("prod")).toBe("general");
    for (const s of ["vbw", "fp", "injb", "prov"]) expect(scopeLocality(s)).toBe("general");
  });

  it("confirms on the probe's country (never ZZ) or an isp/nat scope", () => {
    expect(isConfirmed("IT", { scope: "fp", expected_countries: ["IT"] })).toBe(true);
    expect(isConfirmed("IT", { scope: "fp", expected_countries: ["FR"] })).toBe(false);
    expect(isConfirmed("ZZ", { scope: "prod", expected_countries: ["ZZ"] })).toBe(false);
    expect(isConfirmed("IT", { scope: "nat", expected_countries: [] })).toBe(true);
    expect(isConfirmed("IT", { scope: "isp", expected_countries: ["RU"] })).toBe(true);
    for (const s of ["prod", "inst", "vbw", "fp", "injb", "prov"] as const) {
      expect(isConfirmed("IT", { scope: s, expected_countries: [] })).toBe(false);
    }
  });

  it("each scope sets its locality when confirmed", () => {
    for (const scope of FINGERPRINT_SCOPES) {
      const set = fpSet([], [fp({ name: `x_${scope}`, scope, pattern: "BLOCKPAGE", expected_countries: ["IT"] })]);
      const r = scoreMeasurement(
        msm("web_connectivity", { requests: [{ response: { body: "BLOCKPAGE" } }], blocking: false, accessible: true }),
        { fingerprints: set },
      );
      const loc = scopeLocality(scope);
      expect(r.scores[`blocking_${loc}`], scope).toBe(1.0);
      expect(r.confirmed, scope).toBe(true);
      expect(r.scores.blocking_general, scope).toBe(1.0); // the locality is added to general
      // not expected in FR: only isp and nat still confirm
      const fr = scoreMeasurement(
        msm("web_connectivity", { requests: [{ response: { body: "BLOCKPAGE" } }], blocking: false, accessible: true }, { probe_cc: "FR" }),
        { fingerprints: set },
      );
      expect(fr.confirmed, scope).toBe(scope === "isp" || scope === "nat");
      if (!fr.confirmed) expect(fr.scores).toEqual({ ...ZEROS, fingerprints: [expect.objectContaining({ scope })] });
    }
  });

  it("normalises expected countries", () => {
    expect(parseExpectedCountries("")).toEqual([]);
    expect(parseExpectedCountries(",RU")).toEqual(["RU"]);
    expect(parseExpectedCountries("AU,DE,DK,FR ")).toEqual(["AU", "DE", "DK", "FR"]);
    expect(parseExpectedCountries(" fr, ZZ ,de,FR")).toEqual(["DE", "FR"]);
  });
});

describe("loadFingerprintDir", () => {
  it("reads the two CSV files", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "fp-"));
    const head = "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes\r\n";
    writeFileSync(path.join(dir, "fingerprints_dns.csv"), `${head}d1,isp,,dns,full,1.2.3.4,5,BY,ooni,,\r\n`);
    writeFileSync(path.join(dir, "fingerprints_http.csv"), `${head}h1,nat,,body,contains,"say ""hi""",10,"AE,SA",ooni,,"two\r\nlines"\r\n`);
    const set = await loadFingerprintDir(dir);
    expect(set.dns).toHaveLength(1);
    expect(set.http[0]).toMatchObject({ name: "h1", pattern: 'say "hi"', expected_countries: ["AE", "SA"], notes: "two\r\nlines" });
    expect(names(matchBody(set, 'they say "hi"'))).toEqual(["h1"]);
    await expect(loadFingerprintDir(path.join(dir, "missing"))).rejects.toThrow();
  });
});
