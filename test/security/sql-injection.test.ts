import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedFastpath } from "../../origin/src/dev/seed-fastpath";
import { report, scale } from "../support/reliability";
import { LEAK_RE, startSecurityOrigin, tableCounts, type SecurityOrigin } from "./support/origin";
import { enumerateRoutes, fillPath, key, type Operation, type Param } from "./support/routes";

// SQL-injection payloads in every query parameter of every GET operation (enumerated from the
// route table), over a database holding synthetic measurements, findings and links. Each answer
// must be a 4xx JSON error or a 200 equal to what a harmless literal that matches nothing gives
// (the payload was taken as a literal too); no ClickHouse error may leak; afterwards every table
// still exists with the same row count. Then the positive proof: rows whose values *are*
// payloads are found by filtering on those values — exactly them, nothing else.

const PAYLOADS = [
  "' OR 1=1 --",
  "' OR '1'='1",
  "1 OR 1=1",
  "1; DROP TABLE fastpath",
  "'; DROP TABLE fastpath; --",
  "\\'",
  "\\' OR 1=1 --",
  "`fastpath`",
  "{x:String}",
  "{probe_cc:String}",
  "IT' /* comment */ OR '1'='1",
  "IT'--",
  "' UNION SELECT name, name FROM system.tables --",
  "1) OR (1=1",
  "\u2019 OR 1=1 --", // right single quotation mark
  "\uff07 OR 1=1 --", // fullwidth apostrophe
  "a\u0000b",
  "%27 OR 1=1 --",
  "'; SELECT sleep(3); --",
  "99999999999999999999999",
  "-1",
  "1e309",
  "AS1' OR '1'='1",
  "2024-01-01' OR '1'='1",
];
const BENIGN = "zzznomatchzzz";
const DROPPED_KEYS = new Set(["db_stats", "query_time"]); // timings differ on every run

let o: SecurityOrigin;
let base: Record<string, string>;

beforeAll(async () => {
  o = await startSecurityOrigin();
  await seedFastpath(o.services.db, { rows: 3000, days: 20, seed: 11, end: new Date(), metadata: true });
  const r = await o.services.db.client.query({ query: "SELECT report_id, input, probe_asn, measurement_uid FROM fastpath WHERE input != '' LIMIT 1", format: "JSONEachRow" });
  const row = (await r.json<{ report_id: string; input: string; probe_asn: number; measurement_uid: string }>())[0]!;
  base = { probe_cc: "IT", probe_asn: `AS${row.probe_asn}`, asn: String(row.probe_asn), input: row.input, report_id: row.report_id, domain: "example.com", k: "x" };
  await o.req("POST", "/api/v1/incidents/create", { bearer: o.who.admin, body: { title: "seeded finding", text: "t", start_time: "2024-01-01T00:00:00Z", published: true, CCs: ["IT"] } });
  await o.req("POST", "/api/v2/oonirun/links", { bearer: o.who.owner, body: { name: "seeded link", description: "d", nettests: [{ test_name: "dnscheck" }] } });
});

afterAll(async () => {
  await o?.close();
});

/** A value for a parameter that is not under attack: the seeded data's, or the schema's own. */
function plain(p: Param): string {
  const s = p.schema as { enum?: string[]; example?: unknown; default?: unknown };
  if (s.enum?.length) return String(s.enum[0]);
  return base[p.name] ?? String(s.example ?? s.default ?? "1");
}

/** The answer with the literal replaced everywhere, and run-dependent timings dropped. */
function normalize(v: unknown, literal: string): unknown {
  if (typeof v === "string") return v.split(literal).join("<literal>");
  if (Array.isArray(v)) return v.map((x) => normalize(x, literal));
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !DROPPED_KEYS.has(k)).map(([k, x]) => [k, normalize(x, literal)]));
  }
  return v;
}

function url(op: Operation, attacked: string, value: string): string {
  const q = new URLSearchParams();
  for (const p of op.params) {
    if (p.in !== "query") continue;
    if (p.name === attacked) q.set(p.name, value);
    else if (p.required) q.set(p.name, plain(p));
  }
  return `${fillPath(op, { measurement_uid: "20240101000000.000000_IT_webconnectivity_0123456789abcdef", oonirun_link_id: "100000000000001", provider: "riseupvpn" })}?${q}`;
}

describe("SQL injection in query parameters", () => {
  it("every payload in every parameter: 4xx JSON, or the same answer as a literal; no leaks; tables intact", async () => {
    const targets = enumerateRoutes(o.app).filter((op) => op.method === "GET" && op.params.some((p) => p.in === "query"));
    expect(targets.length).toBeGreaterThanOrEqual(25);
    const payloads = scale(PAYLOADS, PAYLOADS);
    const before = await tableCounts(o.services);
    const failures: string[] = [];
    let cases = 0;
    let refused = 0;
    let literal = 0;
    let slowest = 0;
    const benignCache = new Map<string, { status: number; norm: string }>();
    for (const op of targets) {
      for (const p of op.params.filter((x) => x.in === "query")) {
        for (const payload of payloads) {
          cases++;
          const where = `${key(op)} ${p.name}=${JSON.stringify(payload)}`;
          const t0 = performance.now();
          const r = await o.req("GET", url(op, p.name, payload), { bearer: o.who.admin });
          if (payload.includes("sleep")) slowest = Math.max(slowest, performance.now() - t0);
          // An error may quote the caller's own value back; anything else ClickHouse-like is a leak.
          // (token by token: a message may re-join a list it split).
          let own = r.text;
          for (const tok of payload.split(/[\s,]+/).filter(Boolean)) own = own.split(tok).join("");
          if (LEAK_RE.test(own)) failures.push(`${where}: leaks ${r.text.slice(0, 160)}`);
          if (r.status >= 500) failures.push(`${where}: ${r.status} ${r.text.slice(0, 160)}`);
          else if (r.status >= 400) {
            refused++;
            if (typeof r.json?.error !== "string") failures.push(`${where}: ${r.status} without a JSON error`);
          } else if (r.status === 200) {
            const bk = `${key(op)} ${p.name}`;
            let b = benignCache.get(bk);
            if (!b) {
              const br = await o.req("GET", url(op, p.name, BENIGN), { bearer: o.who.admin });
              b = { status: br.status, norm: JSON.stringify(normalize(br.json ?? br.text, BENIGN)) };
              benignCache.set(bk, b);
            }
            const norm = JSON.stringify(normalize(r.json ?? r.text, payload));
            // A number is a valid value for numeric parameters (limit=-1 means "all"): nothing to compare.
            if (b.status !== 200 && /^-?\d+(e\d+)?$/.test(payload)) literal++;
            else if (b.status !== 200) failures.push(`${where}: 200 where the literal ${BENIGN} gets ${b.status}`);
            else if (norm !== b.norm) failures.push(`${where}: answer differs from the literal's: ${norm.slice(0, 200)} vs ${b.norm.slice(0, 200)}`);
            else literal++;
          }
        }
      }
    }
    const after = await tableCounts(o.services);
    expect(after).toEqual(before);
    report("security", "sql injection (query parameters)", {
      operations: targets.length,
      payloads: payloads.length,
      cases,
      refused_4xx: refused,
      same_as_literal: literal,
      passed: cases - failures.length,
      slowest_sleep_payload_ms: Math.round(slowest),
    });
    expect(failures).toEqual([]);
    expect(slowest).toBeLessThan(3000); // sleep(3) never ran
  });

  it("rows whose values are payloads are found by exactly those values (taken as literals)", async () => {
    const rows = PAYLOADS.filter((p) => !/[\u0000-\u001f]/.test(p)).map((payload, i) => ({
      measurement_uid: `20240102000000.${String(i).padStart(6, "0")}_IT_webconnectivity_${i.toString(16).padStart(16, "0")}`,
      report_id: `20240102T000000Z_webconnectivity_IT_30722_n1_sqli${String(i).padStart(12, "0")}`,
      input: payload,
      probe_cc: "IT",
      probe_asn: 30722,
      test_name: "web_connectivity",
      test_start_time: "2024-01-02 00:00:00",
      measurement_start_time: "2024-01-02 00:00:00",
      scores: "{}",
      platform: "linux",
      anomaly: "f",
      confirmed: "f",
      msm_failure: "f",
      domain: "sqli.example",
      software_name: "t",
      software_version: payload,
      test_version: "0.4.3",
      test_runtime: 1,
      architecture: "amd64",
      engine_name: "e",
      engine_version: "1",
      blocking_type: "",
      test_helper_address: "",
      test_helper_type: "",
      ooni_run_link_id: null,
    }));
    await o.services.db.client.insert({ table: "fastpath", values: rows, format: "JSONEachRow" });
    let cases = 0;
    for (const row of rows) {
      for (const param of ["input"]) {
        cases++;
        const r = await o.req("GET", `/api/v1/measurements?${new URLSearchParams({ [param]: row.input, since: "2024-01-01", until: "2024-01-03" })}`);
        expect(r.status, `${param}=${row.input}: ${r.text.slice(0, 200)}`).toBe(200);
        expect(r.json.results.map((x: { measurement_uid: string }) => x.measurement_uid), `${param}=${row.input}`).toEqual([row.measurement_uid]);
      }
      cases++;
      const m = await o.req("GET", `/api/v1/measurement_meta?${new URLSearchParams({ report_id: row.report_id, input: row.input })}`);
      expect(m.status).toBe(200);
      expect(m.json.measurement_uid, `measurement_meta input=${row.input}`).toBe(row.measurement_uid);
    }
    report("security", "sql injection (payloads as stored values)", { cases, passed: cases });
  });
});
