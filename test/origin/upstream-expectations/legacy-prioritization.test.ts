import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type Upstream } from "./support";

// ooni/backend api/tests/integ/test_prioritization.py and test_prioritization_nodb.py (the legacy
// Flask API's test lists for probes, 32d8349d), as our tests. Upstream's counts (1513 URLs for the
// US, more than 1200 global ones) come from its test-list dump; ours come from the bundled test
// lists (origin/fixtures/testlists), so the tests ask the same shapes and rules with sizes taken
// from what the answer itself says.

let u: Upstream;
beforeAll(async () => {
  u = await startUpstream();
});
afterAll(async () => {
  await u?.close();
});

type Url = { category_code: string; country_code: string; url: string };
const urls = async (q: string) => {
  const r = await u.req("GET", `/api/v1/test-list/urls?${q}`);
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  return r.json as { metadata: Record<string, unknown>; results: Url[] };
};
const META = (count: number) => ({ count, current_page: -1, limit: -1, next_url: "", pages: 1 });
const unique = (rs: Url[]) => new Set(rs.map((r) => r.url)).size;

describe("legacy URL prioritization", () => {
  // How many URLs a query has at all (our bundled lists are small: 20 global ones), so that a
  // `limit` above that answers everything and one below it answers exactly `limit`.
  const total = async (q: string) => (await urls(`${q}&limit=9999`)).results.length;

  it("test_url_prioritization (nodb; skipped in the integ file): `limit` distinct URLs", async () => {
    const all = await total("");
    expect(all).toBeGreaterThan(2);
    for (const limit of [2, all - 1, 100]) {
      const c = await urls(`limit=${limit}`);
      const n = Math.min(limit, all);
      expect(c.results.length).toBe(n);
      expect(c.metadata).toEqual(META(n));
      expect(unique(c.results)).toBe(n);
    }
  });

  it("test_url_prioritization_category_code (integ and nodb): only that category", async () => {
    const all = await total("category_codes=NEWS");
    expect(all).toBeGreaterThan(1);
    for (const limit of [1, 100]) {
      const c = await urls(`category_codes=NEWS&limit=${limit}`);
      const n = Math.min(limit, all);
      expect(c.metadata).toEqual(META(n));
      for (const r of c.results) expect(r.category_code).toBe("NEWS");
      expect(unique(c.results)).toBe(n);
    }
  });

  it("test_url_prioritization_category_codes (integ and nodb): several categories, one country", async () => {
    for (const cats of ["NEWS,CULTR", "NEWS,HUMR"]) {
      const all = await total(`category_codes=${cats}&country_code=US`);
      expect(all, cats).toBeGreaterThan(1);
      for (const limit of [1, 100]) {
        const c = await urls(`category_codes=${cats}&country_code=US&limit=${limit}`);
        const n = Math.min(limit, all);
        expect(c.metadata).toEqual(META(n));
        for (const r of c.results) expect(cats.split(",")).toContain(r.category_code);
        expect(unique(c.results)).toBe(n);
      }
    }
  });

  it("test_url_prioritization_country_code_limit_debug: the country's list and the global one, all of it", async () => {
    const c = await urls("country_code=US&limit=9999&debug=true");
    expect(c.metadata).toEqual(META(c.results.length));
    for (const r of c.results) expect(["XX", "US"]).toContain(r.country_code);
    expect(unique(c.results)).toBe(c.results.length);
  });

  it("test_url_prioritization_country_code_nolimit: global URLs and the country's own", async () => {
    const c = await urls("country_code=US");
    const xx = c.results.filter((r) => r.country_code === "XX").length;
    const us = c.results.filter((r) => r.country_code === "US").length;
    expect(xx + us).toBe(c.results.length);
    expect(c.metadata.count).toBe(c.results.length);
    // upstream: > 1200 global, > 40 US from its lists; both kinds are there in ours
    expect(xx).toBeGreaterThan(0);
    expect(us).toBeGreaterThan(0);
  });

  it("test_show_countries_prioritization / _csv: the debug table in JSON and CSV", async () => {
    const r = await u.req("GET", "/api/_/show_countries_prioritization");
    expect(r.status, r.text).toBe(200);
    expect(r.json.length).toBeGreaterThan(10);
    expect(Object.keys(r.json[0]).sort()).toEqual(["anomaly_perc", "category_code", "cc", "domain", "msmt_cnt", "priority", "url"]);
    const csv = await u.req("GET", "/api/_/show_countries_prioritization?format=CSV");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type") ?? "").not.toMatch(/json/);
    expect(csv.text.split(/\r?\n/)[0]).toMatch(/url/);
  });
});
