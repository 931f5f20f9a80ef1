import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../origin/src/app";
import type { Database } from "../../../origin/src/db/clickhouse";
import type { TestListItem } from "../../../origin/src/testlists/prioritize";
import { testlistsCommand } from "../../../origin/src/testlists/command";
import { TestListCache } from "../../../origin/src/testlists/snapshot/cache";
import type { TestListRequest, TestListResult } from "../../../origin/src/testlists/test-list";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";

// Check-in's test lists from memory (origin/src/testlists/snapshot/), through the real app and
// services in this process over embedded chDB: no database query per request, the same answers as
// the query-based prioritization, an atomic swap on load, and a second app instance over the same
// database (what another origin host is) picking up changes through its poll.

let origin: InProcessOrigin;
let db: Database;
const quiet = { info() {}, warn() {}, error() {} };
const dirs: string[] = [];

/** Every call the app makes to ClickHouse, through the one client the services share. */
const queries = { n: 0 };

beforeAll(async () => {
  // No background polling in the app under test: every query counted comes from a request.
  origin = await startInProcessOrigin({ TESTLISTS_POLL_S: "0", TESTLISTS_COUNTS_REFRESH_S: "0" });
  db = origin.services.db;
  const client = db.client as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ["query", "command", "insert", "exec"]) {
    const original = client[m]!.bind(client);
    client[m] = (...a: unknown[]) => {
      queries.n++;
      return original(...a);
    };
  }
});
afterAll(async () => {
  await origin?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const header = "url,category_code,category_description,date_added,source,notes\n";
function writeLists(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), "snapshot-lists-"));
  dirs.push(root);
  mkdirSync(path.join(root, "lists"));
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(root, "lists", name), body);
  return root;
}
const io = { out() {}, err() {}, interactive: false };
async function loadLists(dir: string) {
  expect(await testlistsCommand.runWith(origin.services, ["load", dir], io, new AbortController().signal)).toBe(0);
}

async function checkIn(app: { request(p: string, init: RequestInit): Response | Promise<Response> }, body: object = {}) {
  const res = await app.request("/api/v1/check-in", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ probe_cc: "IT", probe_asn: "AS30722", charging: true, ...body }),
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { tests: { web_connectivity: { urls: TestListItem[] } } };
  return json.tests.web_connectivity.urls;
}

describe("no database query per request", () => {
  it("check-in and test-list/urls make none; the query-based debug route does (the counter works)", async () => {
    const before = queries.n;
    for (let i = 0; i < 20; i++) {
      expect((await checkIn(origin.app)).length).toBeGreaterThan(10);
      const urls = await origin.get("/api/v1/test-list/urls?country_code=US&limit=-1");
      expect(urls.status).toBe(200);
      expect(urls.json.results.length).toBeGreaterThan(10);
    }
    expect(queries.n - before).toBe(0);
    await origin.get("/api/_/debug_prioritization?probe_cc=IT");
    expect(queries.n - before).toBeGreaterThan(0);
  });

  it("keeps answering from memory when the database stops answering", async () => {
    const cache = origin.services.probe.testLists;
    const client = db.client as unknown as Record<string, (...a: unknown[]) => unknown>;
    const query = client.query!;
    client.query = () => Promise.reject(new Error("ClickHouse is down"));
    try {
      await expect(cache.reload()).rejects.toThrow(/down/);
      const urls = await checkIn(origin.app, { probe_cc: "US", probe_asn: "AS7922" });
      expect(urls.length).toBeGreaterThan(10);
      expect(new Set(urls.map((u) => u.country_code))).toEqual(new Set(["US", "XX"]));
    } finally {
      client.query = query;
    }
  });
});

describe("an origin started while ClickHouse is down", () => {
  it("serves an empty list (source failover), then the lists as soon as they can be read, without polling", async () => {
    let down = true;
    const client = new Proxy(db.client, {
      get(target, key) {
        if (key === "query" && down) return () => Promise.reject(new Error("ClickHouse is down"));
        const v = Reflect.get(target, key) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const cache = new TestListCache({ ...db, client }, { pollMs: 0, countsRefreshMs: 0, log: quiet });
    await cache.start();
    try {
      const req = { cc: "IT", asn: 30722, categoryCodes: [], limit: 20 };
      expect(cache.answer(req)).toEqual({ items: [], source: "failover" });
      down = false;
      await vi.waitFor(() => expect(cache.answer(req).items).toHaveLength(20), { timeout: 15_000, interval: 100 });
      expect(cache.answer(req).source).toBe("prioritized");
    } finally {
      await cache.stop();
    }
  });
});

describe("the check-in answer", () => {
  it("has every test's report_id and the URL list serialized as the schema says", async () => {
    const res = await origin.app.request("/api/v1/check-in", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ probe_cc: "IT", probe_asn: "AS30722", charging: false, web_connectivity: { category_codes: ["NEWS"] } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const json = (await res.json()) as any;
    expect(Object.keys(json)).toEqual(["v", "probe_cc", "probe_asn", "probe_network_name", "utc_time", "conf", "tests"]);
    expect(Object.keys(json.tests)).toHaveLength(21);
    for (const [name, t] of Object.entries<any>(json.tests)) {
      expect(t.report_id).toMatch(new RegExp(`^\\d{8}T\\d{6}Z_${name.replace(/_/g, "")}_IT_30722_n1_[A-Za-z0-9]{16}$`));
      expect(Object.keys(t)).toEqual(name === "web_connectivity" ? ["report_id", "urls"] : ["report_id"]);
    }
    const urls = json.tests.web_connectivity.urls as any[];
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) {
      expect(Object.keys(u)).toEqual(["category_code", "url", "country_code"]);
      expect(u.category_code).toBe("NEWS");
      expect(["IT", "XX"]).toContain(u.country_code);
    }
  });
});

describe("swapped atomically", () => {
  it("a probe checking in during loads gets the old list or the new one, never a mix or nothing", async () => {
    const a = writeLists({ "global.csv": header + Array.from({ length: 30 }, (_, i) => `https://a${i}.example/,NEWS,,,,\n`).join("") });
    const b = writeLists({ "global.csv": header + Array.from({ length: 40 }, (_, i) => `https://b${i}.example/,HUMR,,,,\n`).join("") });
    await loadLists(a);
    const seen = new Set<string>();
    let loading = true;
    const probes = Array.from({ length: 4 }, async () => {
      while (loading) {
        const urls = (await checkIn(origin.app)).map((u) => u.url);
        const list = urls.every((u) => /^https:\/\/a\d+\.example\/$/.test(u)) ? "a" : urls.every((u) => /^https:\/\/b\d+\.example\/$/.test(u)) ? "b" : "mixed";
        expect(list, JSON.stringify(urls)).not.toBe("mixed");
        expect(urls.length).toBe(list === "a" ? 30 : 40);
        seen.add(list);
        await new Promise((r) => setImmediate(r));
      }
    });
    try {
      for (let i = 0; i < 3; i++) {
        await loadLists(b);
        expect(await checkIn(origin.app)).toHaveLength(40); // visible at once in this process
        await loadLists(a);
        expect(await checkIn(origin.app)).toHaveLength(30);
      }
    } finally {
      loading = false;
      await Promise.all(probes);
    }
    expect(seen).toEqual(new Set(["a", "b"]));
  });
});

describe("another origin host over the same database", () => {
  it("learns of new lists and of rules changed elsewhere through its poll", async () => {
    // A second app with its own cache: what another host's origin process holds.
    const other = new TestListCache(db, { pollMs: 100, countsRefreshMs: 0, log: quiet });
    await other.start();
    try {
      const otherApp = createApp({ ...origin.services, probe: { ...origin.services.probe, testLists: other } });
      const c = writeLists({ "global.csv": `${header}https://c1.example/,NEWS,,,,\nhttps://c2.example/,GMB,,,,\n` });
      await loadLists(c);
      await vi.waitFor(async () => expect((await checkIn(otherApp)).map((u) => u.url).sort()).toEqual(["https://c1.example/", "https://c2.example/"]), {
        timeout: 10_000,
        interval: 50,
      });
      // A rule written straight into the table (another host's edit, or an operator's INSERT).
      await db.client.insert({
        table: "url_priorities",
        format: "JSONEachRow",
        // Once there are rules, a URL no rule matches has priority 0 and is not served.
        values: [{ sign: 1, category_code: "NEWS", cc: "*", domain: "*", url: "*", priority: 10 }],
      });
      await vi.waitFor(async () => expect((await checkIn(otherApp)).map((u) => u.url)).toEqual(["https://c1.example/"]), {
        timeout: 10_000,
        interval: 50,
      });
      // This host (no poll in this test) still serves what it loaded until it is told.
      expect(await checkIn(origin.app)).toHaveLength(2);
      await origin.services.probe.testLists.reload();
      expect((await checkIn(origin.app)).map((u) => u.url)).toEqual(["https://c1.example/"]);
    } finally {
      await other.stop();
      await db.client.command({ query: "TRUNCATE TABLE url_priorities" });
    }
  });
});

// The snapshot against the query-based prioritization (testlists/test-list.ts) on the real
// CitizenLab lists, with rules of every shape and measurement counts.
describe.skipIf(!corpusAvailable)("same answers as the query-based lists, on the corpus test lists", () => {
  const countries: string[] = [];
  beforeAll(async () => {
    await loadLists(corpusPath("citizenlab-test-lists"));
    const rows = await db.client.query({ query: "SELECT DISTINCT upper(toString(cc)) AS cc FROM citizenlab ORDER BY cc", format: "JSONEachRow" });
    countries.push(...(await rows.json<{ cc: string }>()).map((r) => r.cc), "QQ");
    await db.client.insert({
      table: "url_priorities",
      format: "JSONEachRow",
      values: [
        { sign: 1, category_code: "NEWS", cc: "*", domain: "*", url: "*", priority: 100 },
        { sign: 1, category_code: "HUMR", cc: "", domain: "", url: "", priority: 40 },
        { sign: 1, category_code: "*", cc: "*", domain: "*", url: "*", priority: 5 },
        { sign: 1, category_code: "GMB", cc: "IR", domain: "*", url: "*", priority: -500 },
        { sign: 1, category_code: "*", cc: "CN", domain: "*", url: "*", priority: -1000 },
        { sign: 1, category_code: "*", cc: "*", domain: "www.bbc.com", url: "*", priority: 7 },
        { sign: 1, category_code: "*", cc: "RU", domain: "*", url: "https://www.bbc.com/", priority: 300 },
        // Added then deleted (CollapsingMergeTree): counts for neither.
        { sign: 1, category_code: "PORN", cc: "*", domain: "*", url: "*", priority: 9000 },
        { sign: -1, category_code: "PORN", cc: "*", domain: "*", url: "*", priority: 9000 },
      ],
    });
    // Counts for this week, last week (both count) and three weeks ago (does not).
    await db.client.command({
      query: `INSERT INTO counters_asn_test_list (week, probe_cc, probe_asn, input, msmt_cnt)
        SELECT toStartOfWeek(now() - toIntervalWeek(w)), upper(toString(cc)), asn, url, 1 + cityHash64(url, w, asn) % 40
        FROM (SELECT DISTINCT url, cc FROM citizenlab WHERE cityHash64(url) % 3 = 0) AS c
        CROSS JOIN (SELECT arrayJoin([0, 1, 3]) AS w) AS weeks
        CROSS JOIN (SELECT arrayJoin([30722, 197207, 4134, 7922]) AS asn) AS nets
        WHERE c.cc != 'ZZ'
        UNION ALL
        SELECT toStartOfWeek(now()), cc, 197207, url, 1 + cityHash64(url) % 9
        FROM (SELECT DISTINCT url FROM citizenlab WHERE cc = 'ZZ' AND cityHash64(url) % 2 = 0) AS g
        CROSS JOIN (SELECT arrayJoin(['IR', 'RU', 'IT']) AS cc) AS ccs`,
    });
    await origin.services.probe.testLists.reload();
  });

  const canonical = (items: TestListItem[]) =>
    [...items].sort((x, y) => (y.weight ?? 0) - (x.weight ?? 0) || (x.url < y.url ? -1 : x.url > y.url ? 1 : 0) || (x.category_code < y.category_code ? -1 : 1));

  const canonicalByUrl = (items: TestListItem[]) =>
    [...items].sort((x, y) => (x.url < y.url ? -1 : x.url > y.url ? 1 : x.category_code < y.category_code ? -1 : 1));

  async function both(req: TestListRequest): Promise<[TestListResult, TestListResult]> {
    const { testLists, testListQueries } = origin.services.probe;
    return [await testListQueries.generate(req), await testLists.generate(req)];
  }

  /** Equal up to the order of URLs of equal weight, and of random samples (both sides shuffle). */
  function expectSame([query, memory]: [TestListResult, TestListResult], req: TestListRequest) {
    const what = JSON.stringify(req);
    expect(memory.source, what).toBe(query.source);
    expect(memory.items.length, what).toBe(query.items.length);
    const whole = query.items.length < req.limit;
    if (query.source === "prioritized") {
      expect(memory.items.map((i) => i.weight), `${what}: order by weight`).toEqual(query.items.map((i) => i.weight));
      // Whole lists: the same items. Cut lists: the same items above the weight at the cut.
      const cut = query.items.at(-1)!.weight!;
      const kept = (items: TestListItem[]) => canonical(whole ? items : items.filter((i) => i.weight! > cut));
      expect(kept(memory.items), what).toEqual(kept(query.items));
    } else if (whole) {
      expect(new Set(memory.items.map((i) => i.url)), what).toEqual(new Set(query.items.map((i) => i.url)));
    }
  }

  it("every country (and one without a list), unknown and known networks, whole lists with debug fields", async () => {
    expect(countries.length).toBeGreaterThan(100);
    let compared = 0;
    for (const [k, cc] of countries.entries()) {
      // Every country with one network's counts; every tenth also with the whole country's.
      for (const asn of k % 10 === 0 ? [0, 197207] : [197207]) {
        const req = { cc, asn, categoryCodes: [], limit: 9999, debug: true };
        const pair = await both(req);
        expectSame(pair, req);
        if (pair[0].source === "prioritized") expect(canonical(pair[1].items)).toEqual(canonical(pair[0].items));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(countries.length);
  }, 300_000); // a query per country and network against embedded chDB: minutes on a loaded 2-core machine

  it("category filters, check-in limits, fallbacks", async () => {
    const sources = new Set<string>();
    for (const cc of ["IR", "RU", "IT", "CN", "ZZ", "QQ"]) {
      for (const asn of [0, 197207]) {
        for (const categoryCodes of [["NEWS"], ["HUMR", "GMB"], ["GMB"], ["NOPE"]]) {
          for (const limit of [20, 9999]) {
            const req = { cc, asn, categoryCodes, limit, debug: true };
            const pair = await both(req);
            expectSame(pair, req);
            sources.add(pair[0].source);
            // What check-in writes: the same list, serialized (debug fields apart).
            const serialized = origin.services.probe.testLists.answerJson({ ...req, debug: false });
            const items = JSON.parse(serialized.json) as TestListItem[];
            expect(serialized.source).toBe(pair[0].source);
            expect(items).toHaveLength(serialized.count);
            expect(items.length).toBe(pair[0].items.length);
            if (items.length < limit) {
              const strip = (l: TestListItem[]) => l.map(({ category_code, url, country_code }) => ({ category_code, url, country_code }));
              expect(canonicalByUrl(items)).toEqual(canonicalByUrl(strip(pair[0].items)));
            }
          }
        }
      }
    }
    // The comparison covered the prioritized answer and the random-sample fallback.
    expect(sources).toEqual(new Set(["prioritized", "fallback"]));
  }, 300_000); // a query per country and network against embedded chDB: minutes on a loaded 2-core machine
});
