import { describe, expect, it } from "vitest";
import { debugList, RuleInput, sameTarget } from "../../../origin/src/priorities/rules";
import type { Candidate, PriorityRule } from "../../../origin/src/testlists/prioritize";

// Pure parts of prioritization management: the backend-reference §8 example, rule validation and
// normalization, and which rules target the same URLs.

const candidate = (url: string, category_code: string, cc: string, msmt_cnt: number): Candidate => ({
  url,
  category_code,
  cc,
  msmt_cnt,
  domain: new URL(url).hostname,
});
const rule = (p: Partial<PriorityRule> & { priority: number }): PriorityRule => ({ category_code: "*", cc: "*", domain: "*", url: "*", ...p });

describe("backend-reference §8 example", () => {
  it("rules 20 and -200 → priority -180, weight -4.7368…; the URL is not in the list probes get", () => {
    const news = candidate("https://www.nytimes.com/", "NEWS", "us", 38);
    const out = debugList([news], [rule({ category_code: "NEWS", priority: 20 }), rule({ cc: "US", priority: -200 })], [], 100);
    expect(out.entries).toHaveLength(1);
    expect(out.entries[0]!.priority).toBe(-180);
    expect(out.entries[0]!.weight).toBeCloseTo(-4.7368421, 6);
    expect(out.entries[0]!.weight).toBe(-180 / 38);
    expect(out.test_items).toEqual([]);
    expect(out.prio_rules).toHaveLength(2);
  });

  it("a rule of another country or category does not count", () => {
    const news = candidate("https://www.nytimes.com/", "NEWS", "us", 38);
    const out = debugList([news], [rule({ category_code: "NEWS", priority: 20 }), rule({ cc: "IT", priority: -200 }), rule({ category_code: "GMB", priority: 7 })], [], 100);
    expect(out.entries[0]!.priority).toBe(20);
    expect(out.test_items).toEqual([{ category_code: "NEWS", url: "https://www.nytimes.com/", country_code: "US", msmt_cnt: 38, priority: 20, weight: 20 / 38 }]);
  });
});

describe("rule input", () => {
  it('normalizes: empty means "*", codes upper case, domains lower case', () => {
    expect(RuleInput.parse({ category_code: "news", cc: "", domain: "WWW.Example.COM", priority: 5 })).toEqual({
      category_code: "NEWS",
      cc: "*",
      domain: "www.example.com",
      url: "*",
      priority: 5,
    });
    expect(RuleInput.parse({ category_code: "*", cc: "it", domain: "*", url: "https://a.example/x", priority: -1 })).toMatchObject({ cc: "IT" });
  });

  it("refuses what cannot be a rule", () => {
    for (const bad of [
      { priority: 1.5 },
      { priority: 2 ** 31 },
      { cc: "ITA", priority: 1 },
      { category_code: "NEWS1", priority: 1 },
      { domain: "a b", priority: 1 },
      { url: "ftp://x.example/", priority: 1 },
      { url: "not a url", priority: 1 },
      {},
    ]) {
      expect(RuleInput.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('"" and "*" target the same URLs; the priority is not part of the target', () => {
    expect(sameTarget(rule({ category_code: "", priority: 1 }), rule({ priority: 9 }))).toBe(true);
    expect(sameTarget(rule({ cc: "IT", priority: 1 }), rule({ cc: "US", priority: 1 }))).toBe(false);
  });
});
