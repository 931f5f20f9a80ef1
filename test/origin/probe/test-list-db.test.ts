import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { migrate } from "../../../origin/src/db/migrations";
import { readCitizenlabDir } from "../../../origin/src/testlists/citizenlab-files";
import { bootstrapCitizenlab, citizenlabRowCount, loadCitizenlabDir } from "../../../origin/src/testlists/load";
import { TestLists } from "../../../origin/src/testlists/test-list";
import { repoRoot } from "../../support/origin-process";
import { corpusAvailable, corpusPath } from "../../support/corpus";

// Real embedded ClickHouse in this test process (one data directory per process).
let dir: string;
let db: Database;
const quiet = { info() {}, warn() {}, error() {} };
const fixture = path.join(repoRoot, "origin/fixtures/testlists");

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "testlists-db-"));
  db = openDatabase({ kind: "embedded", path: path.join(dir, "ch"), database: "default", queryTimeoutS: 28 });
  await migrate(db);
});
afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeLists(root: string, files: Record<string, string>) {
  mkdirSync(path.join(root, "lists"), { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(root, "lists", name), body);
  return root;
}
const header = "url,category_code,category_description,date_added,source,notes\n";

describe("test lists in ClickHouse", () => {
  it("bootstraps the fixture once, into an empty table only", async () => {
    expect(await citizenlabRowCount(db)).toBe(0);
    const first = await bootstrapCitizenlab(db, fixture, quiet);
    expect(first?.rows).toBeGreaterThan(30);
    expect(first?.countries).toBe(2);
    expect(await bootstrapCitizenlab(db, fixture, quiet)).toBeNull();
    const ccs = await queryRows<{ cc: string; n: number }>(db, "SELECT toString(cc) AS cc, count() AS n FROM citizenlab GROUP BY cc ORDER BY cc");
    expect(ccs.map((r) => r.cc)).toEqual(["ZZ", "it", "us"]);
  });

  it("serves a country's URLs and the global ones, never an empty list", async () => {
    const lists = new TestLists(db, quiet);
    const it20 = await lists.generate({ cc: "IT", asn: 30722, categoryCodes: [], limit: 20 });
    expect(it20.items).toHaveLength(20);
    expect(new Set(it20.items.map((i) => i.country_code))).toEqual(new Set(["IT", "XX"]));
    const all = await lists.generate({ cc: "IT", asn: 30722, categoryCodes: [], limit: 9999 });
    expect(all.items.filter((i) => i.country_code === "IT")).toHaveLength(8);
    expect(all.items.filter((i) => i.country_code === "US")).toHaveLength(0);
    // A country without its own list still gets global URLs.
    const br = await lists.generate({ cc: "BR", asn: 28573, categoryCodes: [], limit: 100 });
    expect(br.items.length).toBeGreaterThan(10);
    expect(br.items.every((i) => i.country_code === "XX")).toBe(true);
    const news = await lists.generate({ cc: "US", asn: 7922, categoryCodes: ["NEWS"], limit: 100 });
    expect(news.items.length).toBeGreaterThan(0);
    expect(news.items.every((i) => i.category_code === "NEWS")).toBe(true);
  });

  it("applies url_priorities and this network's measurement counts (fed by the fastpath table)", async () => {
    await db.client.insert({
      table: "url_priorities",
      format: "JSONEachRow",
      values: [
        { sign: 1, category_code: "NEWS", cc: "*", domain: "*", url: "*", priority: 100 },
        { sign: 1, category_code: "GMB", cc: "IT", domain: "*", url: "*", priority: -500 },
        { sign: 1, category_code: "HUMR", cc: "*", domain: "*", url: "*", priority: 10 },
        // A rule added then deleted (CollapsingMergeTree): must not count.
        { sign: 1, category_code: "HUMR", cc: "*", domain: "*", url: "*", priority: 5000 },
        { sign: -1, category_code: "HUMR", cc: "*", domain: "*", url: "*", priority: 5000 },
      ],
    });
    // 50 recent measurements of one Italian news site from AS30722 make it least urgent.
    const now = new Date(Date.now() - 3600_000).toISOString().slice(0, 19).replace("T", " ");
    const row = (asn: number) => ({
      measurement_uid: `u${Math.random()}`, report_id: "r", input: "https://www.repubblica.it/", probe_cc: "IT", probe_asn: asn,
      test_name: "web_connectivity", test_start_time: now, measurement_start_time: now, scores: "{}", platform: "linux",
      anomaly: "f", confirmed: "f", msm_failure: "f", domain: "www.repubblica.it", software_name: "x", software_version: "1",
      test_version: "0.4", test_runtime: 1, architecture: "amd64", engine_name: "e", engine_version: "1", blocking_type: "",
      test_helper_address: "", test_helper_type: "", ooni_run_link_id: null,
    });
    await db.client.insert({ table: "fastpath", format: "JSONEachRow", values: Array.from({ length: 50 }, () => row(30722)) });

    const lists = new TestLists(db, quiet);
    const got = await lists.generate({ cc: "IT", asn: 30722, categoryCodes: [], limit: 9999, debug: true });
    expect(got.source).toBe("prioritized");
    const urls = got.items.map((i) => i.url);
    expect(got.items.every((i) => (i.priority ?? 0) > 0)).toBe(true);
    expect(urls).not.toContain("https://www.sisal.it/"); // GMB in IT: priority -500
    expect(got.items.find((i) => i.category_code === "HUMR")?.priority).toBe(10);
    const repubblica = got.items.find((i) => i.url === "https://www.repubblica.it/")!;
    expect(repubblica.msmt_cnt).toBe(50);
    expect(repubblica.weight).toBe(2);
    // Unmeasured news (weight 1000) before the measured one (2) and before HUMR (100).
    expect(got.items[0]!.category_code).toBe("NEWS");
    expect(urls.indexOf("https://www.repubblica.it/")).toBeGreaterThan(urls.indexOf("https://www.ansa.it/"));
    expect(urls.indexOf("https://www.repubblica.it/")).toBeGreaterThan(urls.indexOf("https://www.amnesty.org/"));
    // Another network of the same country has not measured it: counts are per ASN.
    const other = await lists.generate({ cc: "IT", asn: 3269, categoryCodes: ["NEWS"], limit: 9999, debug: true });
    expect(other.items.find((i) => i.url === "https://www.repubblica.it/")?.msmt_cnt).toBe(0);
    // ASN unknown (0): counts from every network in the country.
    const anyAsn = await lists.generate({ cc: "IT", asn: 0, categoryCodes: ["NEWS"], limit: 9999, debug: true });
    expect(anyAsn.items.find((i) => i.url === "https://www.repubblica.it/")?.msmt_cnt).toBe(50);
  });

  it("falls back to global URLs when the rules leave nothing", async () => {
    const lists = new TestLists(db, quiet);
    const gmb = await lists.generate({ cc: "IT", asn: 30722, categoryCodes: ["GMB"], limit: 20 });
    expect(gmb.source).toBe("fallback");
    expect(gmb.items.map((i) => i.url)).toEqual(["https://www.sisal.it/"]); // no global GMB: the country's
    const env = await lists.generate({ cc: "IT", asn: 30722, categoryCodes: ["ENV"], limit: 20 });
    expect(env.source).toBe("fallback"); // ENV has no rule → priority 0 → sample
    expect(env.items.map((i) => i.url)).toEqual(["https://www.greenpeace.org/"]);
  });

  it("replaces the list atomically with `testlists load` semantics and validates rows", async () => {
    const root = writeLists(mkdtempSync(path.join(tmpdir(), "lists-")), {
      "global.csv": `${header}https://global.example/,NEWS,News,2024-01-01,,\nnot a url,NEWS,,,,\nhttps://bad-cat.example/,news!,,,,\n`,
      "it.csv": `${header}https://only-it.example/,NEWS,News,2024-01-01,,"a, note"\n`,
      "cis.csv": `${header}https://regional.example/,NEWS,,,,\n`,
      "00-LEGEND-category_codes.csv": "CategoryCode,CategoryName\nNEWS,News\n",
    });
    const res = await loadCitizenlabDir(db, root);
    expect(res).toMatchObject({ rows: 2, countries: 1, files: ["global.csv", "it.csv"] });
    expect(res.problems.map((p) => `${p.file}:${p.line}`)).toEqual(["global.csv:3", "global.csv:4"]);
    const rows = await queryRows<{ url: string; cc: string; domain: string }>(db, "SELECT url, toString(cc) AS cc, domain FROM citizenlab ORDER BY url");
    expect(rows).toEqual([
      { url: "https://global.example/", cc: "ZZ", domain: "global.example" },
      { url: "https://only-it.example/", cc: "it", domain: "only-it.example" },
    ]);
    expect(await queryRows(db, "SELECT count() AS n FROM citizenlab_flip")).toEqual([{ n: 0 }]);
    rmSync(root, { recursive: true, force: true });
    await expect(readCitizenlabDir(path.join(dir, "nope"))).rejects.toThrow(/cannot read|no global\.csv/);
  });

  it.skipIf(!corpusAvailable)("loads the real CitizenLab lists from the shared corpus", async () => {
    const res = await loadCitizenlabDir(db, corpusPath("citizenlab-test-lists"));
    expect(res.rows).toBeGreaterThan(30_000);
    expect(res.countries).toBeGreaterThan(100);
    expect(res.problems.length).toBeLessThan(res.rows / 1000);
    const lists = new TestLists(db, quiet);
    const ir = await lists.generate({ cc: "IR", asn: 197207, categoryCodes: [], limit: 100 });
    expect(ir.items).toHaveLength(100);
  });

  it("serves a sample of the last known global list when the database fails", async () => {
    const lists = new TestLists(db, quiet);
    await lists.refreshFailoverSoon(true);
    await db.close();
    const got = await lists.generate({ cc: "IT", asn: 30722, categoryCodes: [], limit: 20 });
    expect(got.source).toBe("failover");
    expect(got.items.length).toBeGreaterThan(0);
    expect(got.items.every((i) => i.country_code === "XX")).toBe(true);
  });
});
