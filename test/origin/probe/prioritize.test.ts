import { describe, expect, it } from "vitest";
import { parseCsv } from "../../../origin/src/testlists/csv";
import { computePriorities, ruleMatches, sampleItems, selectItems, type Candidate, type PriorityRule } from "../../../origin/src/testlists/prioritize";

const c = (url: string, category_code: string, cc: string, msmt_cnt = 0): Candidate => ({
  url,
  category_code,
  cc,
  msmt_cnt,
  domain: new URL(url).hostname,
});
const rule = (p: Partial<PriorityRule> & { priority: number }): PriorityRule => ({ category_code: "*", cc: "*", domain: "*", url: "*", ...p });

describe("prioritization (backend-reference §8)", () => {
  it("sums matching rules and divides by the measurement count", () => {
    const entries = [c("https://a.example/", "NEWS", "us", 38)];
    const [p] = computePriorities(entries, [rule({ category_code: "NEWS", priority: 20 }), rule({ cc: "US", priority: -200 })]);
    expect(p!.priority).toBe(-180);
    expect(p!.weight).toBeCloseTo(-4.7368421, 6);
    expect(selectItems([p!], [], 10, false)).toEqual([]); // priority <= 0 is dropped
  });

  it("orders by weight: important and least-measured first; zero counts weigh as 0.1", () => {
    const entries = [
      c("https://measured.example/", "NEWS", "it", 100),
      c("https://fresh.example/", "NEWS", "it", 0),
      c("https://humr.example/", "HUMR", "ZZ", 5),
    ];
    const rules = [rule({ category_code: "NEWS", priority: 100 }), rule({ category_code: "HUMR", priority: 50 })];
    const out = selectItems(computePriorities(entries, rules), [], 10, true);
    expect(out.map((i) => i.url)).toEqual(["https://fresh.example/", "https://humr.example/", "https://measured.example/"]);
    expect(out[0]).toEqual({ category_code: "NEWS", url: "https://fresh.example/", country_code: "IT", msmt_cnt: 0, priority: 100, weight: 1000 });
    expect(out[1]!.country_code).toBe("XX"); // global URLs are shown as XX
  });

  it("matches rules on category, domain, url and country, with '' and '*' as wildcards", () => {
    const e = c("https://x.example/p", "NEWS", "it");
    expect(ruleMatches(e, rule({ priority: 1 }))).toBe(true);
    expect(ruleMatches(e, rule({ category_code: "", domain: "", url: "", cc: "", priority: 1 }))).toBe(true);
    expect(ruleMatches(e, rule({ domain: "x.example", priority: 1 }))).toBe(true);
    expect(ruleMatches(e, rule({ domain: "y.example", priority: 1 }))).toBe(false);
    expect(ruleMatches(e, rule({ url: "https://x.example/p", priority: 1 }))).toBe(true);
    expect(ruleMatches(e, rule({ cc: "IT", priority: 1 }))).toBe(true); // rules are upper case, rows lower case
    expect(ruleMatches(e, rule({ cc: "US", priority: 1 }))).toBe(false);
    // A country rule also applies to global URLs (seen from that country).
    expect(ruleMatches(c("https://g.example/", "NEWS", "ZZ"), rule({ cc: "US", priority: 1 }))).toBe(true);
  });

  it("filters categories and honours the limit; with no rules every URL counts equally", () => {
    const entries = Array.from({ length: 30 }, (_, i) => c(`https://u${i}.example/`, i % 2 ? "NEWS" : "GMB", "it", i));
    const p = computePriorities(entries, []);
    const all = selectItems(p, [], 100, false);
    expect(all).toHaveLength(30);
    expect(all[0]!.url).toBe("https://u0.example/"); // least measured first
    const news = selectItems(p, ["NEWS"], 5, false);
    expect(news).toHaveLength(5);
    expect(news.every((i) => i.category_code === "NEWS")).toBe(true);
  });

  it("samples randomly for the fallback, within categories", () => {
    const entries = Array.from({ length: 50 }, (_, i) => c(`https://u${i}.example/`, i < 10 ? "ANON" : "NEWS", "ZZ"));
    expect(sampleItems(entries, ["ANON"], 100)).toHaveLength(10);
    expect(sampleItems(entries, [], 20)).toHaveLength(20);
    const firsts = new Set(Array.from({ length: 20 }, () => sampleItems(entries, [], 1)[0]!.url));
    expect(firsts.size).toBeGreaterThan(1);
  });
});

describe("CSV", () => {
  it("handles quotes, doubled quotes, embedded newlines, CRLF and a BOM", () => {
    const text = '\ufeffurl,notes\r\nhttps://a/,"one, ""two""\nthree"\r\nhttps://b/,\n\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ["url", "notes"] },
      { line: 2, fields: ["https://a/", 'one, "two"\nthree'] },
      { line: 4, fields: ["https://b/", ""] },
    ]);
  });
  it("refuses an unterminated quote", () => {
    expect(() => parseCsv('a,"b\n')).toThrow(/unterminated/);
  });
});
