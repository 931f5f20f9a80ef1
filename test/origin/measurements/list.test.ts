import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { at, fastpathRow, iso, reportOf, uidOf, type Row } from "./rows";

// GET /api/v1/measurements against a handful of known fastpath rows: every filter, the default
// window, ordering, paging, FINAL, the response shape, caching and validation.

const ROWS: Row[] = [
  { id: "A", t: at(1, 10), input: "https://a.example/", anomaly: true },
  { id: "E", t: at(1, 10), input: "https://a.example/" },
  { id: "B", t: at(2, 10), asn: 3269, input: "https://b.example/x", anomaly: true, confirmed: true, sw: "3.21.0" },
  { id: "C", t: at(3, 10), cc: "DE", asn: 3320, test: "ndt", failure: true, tv: "0.1.0", runLink: 10001 },
  { id: "D", t: at(4, 10), cc: "IR", asn: 197207, test: "telegram", ev: "3.20.0" },
  { id: "F", t: at(40, 10), report: "20200101T000000Z_webconnectivity_IT_30722_n1_oldoldoldoldoldo" },
  { id: "G", t: at(1, 11), cc: "ZZ" },
  { id: "H", t: at(1, 12), asn: 0 },
];

const byId = new Map(ROWS.map((r) => [r.id, r]));
const idOfUid = new Map(ROWS.map((r) => [uidOf(r), r.id]));
let o: InProcessOrigin;

beforeAll(async () => {
  // No background fastpath: this table holds exactly the rows below.
  o = await startInProcessOrigin({ FASTPATH_ENABLED: "false" });
  const db = o.services.db;
  await db.client.command({ query: "TRUNCATE TABLE citizenlab" });
  await db.client.insert({ table: "fastpath", values: ROWS.map(fastpathRow), format: "JSONEachRow" });
  // A rescoring of A: a newer row for the same measurement, which FINAL must show instead.
  await db.client.insert({
    table: "fastpath",
    values: [{ ...fastpathRow(byId.get("A")!), scores: JSON.stringify({ blocking_general: 1, row: "A", rescored: true }) }],
    format: "JSONEachRow",
  });
  await db.client.insert({
    table: "citizenlab",
    values: [
      { url: "https://a.example/", domain: "a.example", cc: "ZZ", category_code: "NEWS" },
      { url: "https://b.example/x", domain: "b.example", cc: "it", category_code: "HUMR" },
    ],
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await o?.close();
});

async function list(query: string, headers: Record<string, string> = {}) {
  const r = await o.get(`/api/v1/measurements${query ? `?${query}` : ""}`, headers);
  expect(r.status, r.text).toBe(200);
  return r;
}
const ids = async (query: string) => ((await list(query)).json.results as { measurement_uid: string }[]).map((x) => idOfUid.get(x.measurement_uid));

describe("results", () => {
  it("default: the last 30 days, newest first (uid breaks ties), no ZZ or AS0, rescored rows once", async () => {
    const r = await list("");
    expect(r.json.results.map((x: { measurement_uid: string }) => idOfUid.get(x.measurement_uid))).toEqual(["E", "A", "B", "C", "D"]);
    expect(r.json.metadata).toMatchObject({ offset: 0, limit: 100, count: 5, pages: 1, current_page: 1, next_url: null });
    expect(typeof r.json.metadata.query_time).toBe("number");
  });

  it("has the legacy item shape: AS-prefixed ASN, null input, scores as an object, flags as booleans", async () => {
    const r = await list("");
    const a = r.json.results.find((x: { measurement_uid: string }) => idOfUid.get(x.measurement_uid) === "A");
    const A = byId.get("A")!;
    expect(a).toEqual({
      measurement_uid: uidOf(A),
      measurement_url: `http://localhost/api/v1/raw_measurement?measurement_uid=${uidOf(A)}`,
      report_id: reportOf(A),
      probe_cc: "IT",
      probe_asn: "AS30722",
      test_name: "web_connectivity",
      measurement_start_time: iso(A.t),
      input: "https://a.example/",
      anomaly: true,
      confirmed: false,
      failure: false,
      scores: { blocking_general: 1, row: "A", rescored: true },
      verification_status: "unverified",
    });
    const c = r.json.results.find((x: { measurement_uid: string }) => idOfUid.get(x.measurement_uid) === "C");
    expect(c).toMatchObject({ input: null, probe_asn: "AS3320", failure: true });
  });

  it("builds measurement_url and next_url from BASE_URL when it is set", async () => {
    const other = o.withConfig((c) => ({ ...c, baseUrl: "https://api.example.org" }));
    const r = await other.get("/api/v1/measurements?limit=2");
    expect(r.json.results[0].measurement_url).toMatch(/^https:\/\/api\.example\.org\/api\/v1\/raw_measurement\?measurement_uid=/);
    expect(r.json.metadata.next_url).toBe("https://api.example.org/api/v1/measurements?limit=2&offset=2");
  });

  it("through a bridge, links name the bridge hostname the client used (trusted only with the edge secret)", async () => {
    const secret = "edge-secret-for-list-tests-0123456789";
    const other = o.withConfig((c) => ({ ...c, baseUrl: "https://api.example.org", edgeSharedSecret: secret }));
    const via = { "x-ooni-edge-auth": secret, "x-ooni-bridge-host": "made-up-bridge.example:8443", "x-forwarded-proto": "https" };
    const r = await other.get("/api/v1/measurements?limit=2", via);
    expect(r.json.metadata.next_url).toBe("https://made-up-bridge.example:8443/api/v1/measurements?limit=2&offset=2");
    expect(r.json.results[0].measurement_url).toMatch(/^https:\/\/made-up-bridge\.example:8443\/api\/v1\/raw_measurement\?/);
    // Without the secret the same headers are a client's claim, and ignored.
    const forged = await other.get("/api/v1/measurements?limit=2", { ...via, "x-ooni-edge-auth": "wrong-secret-wrong-secret-000000000" });
    expect(forged.json.metadata.next_url).toBe("https://api.example.org/api/v1/measurements?limit=2&offset=2");
    // A hostname that is not one is ignored too.
    const odd = await other.get("/api/v1/measurements?limit=2", { ...via, "x-ooni-bridge-host": "evil.example/path" });
    expect(odd.json.metadata.next_url).toBe("https://api.example.org/api/v1/measurements?limit=2&offset=2");
  });

  it("is cacheable for a minute, with an ETag that revalidates", async () => {
    const r = await list("probe_cc=IT");
    expect(r.headers.get("cache-control")).toBe("public, max-age=60");
    const again = await o.get("/api/v1/measurements?probe_cc=IT", { "If-None-Match": r.headers.get("etag")! });
    expect(again.status).toBe(304);
  });
});

describe("filters", () => {
  const cases: [string, (string | undefined)[]][] = [
    ["probe_cc=IT", ["E", "A", "B"]],
    ["probe_cc=DE,IR", ["C", "D"]],
    ["probe_asn=AS3269", ["B"]],
    ["probe_asn=3320,197207", ["C", "D"]],
    ["test_name=ndt,telegram", ["C", "D"]],
    ["input=https://a.example/", ["E", "A"]],
    ["input=https://a.example/&domain=b.example", ["E", "A"]], // input wins, as in the legacy API
    ["domain=b.example", ["B"]],
    ["domain=a.example,b.example", ["E", "A", "B"]],
    ["category_code=NEWS", ["E", "A"]],
    ["category_code=HUMR,NEWS", ["E", "A", "B"]],
    ["domain=a.example&category_code=HUMR", []],
    ["anomaly=true", ["A", "B"]],
    ["anomaly=false", ["E", "C", "D"]],
    ["confirmed=true", ["B"]],
    ["confirmed=false&anomaly=true", ["A"]],
    ["failure=true", ["C"]],
    ["failure=false&probe_cc=DE", []],
    ["software_version=3.21.0", ["B"]],
    ["software_version=3.21.0,3.22.0&probe_cc=IT", ["E", "A", "B"]],
    ["test_version=0.1.0", ["C"]],
    ["engine_version=3.20.0", ["D"]],
    ["ooni_run_link_id=10001", ["C"]],
    ["ooni_run_link_id=10001,99", ["C"]],
    [`report_id=${reportOf(byId.get("B")!)}`, ["B"]],
    // A report named explicitly needs no window: its 40-day-old measurement is found.
    [`report_id=${reportOf(byId.get("F")!)}`, ["F"]],
    [`since=${iso(at(2, 10))}`, ["E", "A", "B"]], // since is inclusive
    [`until=${iso(at(2, 10))}`, ["C", "D"]], // until is exclusive
    [`since=${iso(at(45, 0))}&until=${iso(at(35, 0))}`, ["F"]],
    [`since=${iso(at(3, 0)).slice(0, 10)}&until=${iso(at(2, 0)).slice(0, 10)}`, ["C"]],
  ];
  for (const [q, want] of cases) {
    it(q.length > 60 ? `${q.slice(0, 60)}…` : q, async () => {
      expect(await ids(q)).toEqual(want);
    });
  }
});

describe("ordering and paging", () => {
  it("orders by each key, both directions, with measurement_uid breaking ties the same way", async () => {
    expect(await ids("order=asc")).toEqual(["D", "C", "B", "A", "E"]);
    expect(await ids("order_by=probe_cc&order=asc")).toEqual(["C", "D", "B", "A", "E"]);
    expect(await ids("order_by=probe_asn&order=DESC")).toEqual(["D", "E", "A", "C", "B"]);
    expect(await ids("order_by=test_name&order=asc")).toEqual(["C", "D", "B", "A", "E"]);
    expect(await ids("order_by=input&order=desc")).toEqual(["B", "E", "A", "C", "D"]);
    expect(await ids("order_by=test_start_time&order=asc")).toEqual(["D", "C", "B", "A", "E"]);
  });

  it("pages without overlap or gaps; next_url while more rows exist; count and pages on the last page", async () => {
    const p1 = await list("limit=2");
    expect(p1.json.metadata).toMatchObject({ offset: 0, limit: 2, count: -1, pages: -1, current_page: 1 });
    expect(p1.json.metadata.next_url).toBe("http://localhost/api/v1/measurements?limit=2&offset=2");
    const p2 = await list(new URL(p1.json.metadata.next_url).search.slice(1));
    expect(p2.json.metadata).toMatchObject({ offset: 2, current_page: 2, count: -1 });
    const p3 = await list(new URL(p2.json.metadata.next_url).search.slice(1));
    expect(p3.json.metadata).toMatchObject({ offset: 4, count: 5, pages: 3, current_page: 3, next_url: null });
    const all = [...p1.json.results, ...p2.json.results, ...p3.json.results].map((x: { measurement_uid: string }) => idOfUid.get(x.measurement_uid));
    expect(all).toEqual(["E", "A", "B", "C", "D"]);
    // Exactly a page's worth left: no next_url pointing at an empty page.
    expect((await list("limit=5")).json.metadata).toMatchObject({ count: 5, pages: 1, next_url: null });
    expect((await list("offset=10")).json).toMatchObject({ results: [], metadata: { count: 10, next_url: null } });
  });

  it("next_url keeps the filters", async () => {
    const r = await list("probe_cc=IT&order=asc&limit=1");
    const next = new URL(r.json.metadata.next_url);
    expect(Object.fromEntries(next.searchParams)).toEqual({ probe_cc: "IT", order: "asc", limit: "1", offset: "1" });
  });
});

describe("validation: 400 JSON naming the parameter", () => {
  const bad: [string, string][] = [
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=ten", "limit"],
    ["offset=-1", "offset"],
    ["offset=1000001", "offset"],
    ["order=sideways", "order"],
    ["order_by=measurement_uid", "order_by"],
    ["order_by=scores;DROP TABLE fastpath", "order_by"],
    ["since=yesterday", "since"],
    ["until=2024-02-30", "until"],
    ["since=2024-03-01&until=2024-03-01", "until"],
    ["probe_cc=ita", "probe_cc"],
    ["probe_cc=ZZ", "probe_cc"],
    ["probe_asn=ASx", "probe_asn"],
    ["probe_asn=AS0", "probe_asn"],
    ["test_name=Web Connectivity", "test_name"],
    ["anomaly=maybe", "anomaly"],
    ["confirmed=yes please", "confirmed"],
    ["failure=2", "failure"],
    ["software_version=3.22.0,", "software_version"],
    ["engine_version=a b", "engine_version"],
    ["test_version=%00", "test_version"],
    ["report_id=../../etc/passwd", "report_id"],
    ["report_id=short", "report_id"],
    ["domain=not a domain", "domain"],
    ["category_code=news", "category_code"],
    ["ooni_run_link_id=abc", "ooni_run_link_id"],
    ["input=%01x", "input"],
  ];
  for (const [q, parameter] of bad) {
    it(q, async () => {
      const r = await o.get(`/api/v1/measurements?${q}`);
      expect(r.status, r.text).toBe(400);
      expect(r.json).toMatchObject({ error: expect.any(String), parameter });
      expect(r.headers.get("cache-control")).toBe("no-store");
    });
  }
});
