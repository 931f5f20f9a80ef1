import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { at, fastpathRow, iso, reportOf, uidOf, type Row } from "./rows";

// GET /api/v1/measurement_meta on known fastpath rows: the exact shape the probe engine decodes,
// the category from the country's test list before the global one, the legacy {} answers.

const A: Row = { id: "A", t: at(1, 10), input: "https://a.example/", anomaly: true, confirmed: true };
const N: Row = { id: "N", t: at(2, 9), cc: "DE", asn: 3320, test: "ndt", failure: true };
const Z: Row = { id: "Z", t: at(1, 8), asn: 0, input: "https://a.example/" };
const G: Row = { id: "G", t: at(1, 7), cc: "DE", asn: 3320, input: "https://a.example/" };

let o: InProcessOrigin;

beforeAll(async () => {
  o = await startInProcessOrigin({ FASTPATH_ENABLED: "false" });
  const db = o.services.db;
  await db.client.command({ query: "TRUNCATE TABLE citizenlab" });
  await db.client.insert({ table: "fastpath", values: [A, N, Z, G].map(fastpathRow), format: "JSONEachRow" });
  await db.client.insert({
    table: "fastpath",
    values: [{ ...fastpathRow(A), scores: '{"blocking_general":1.0,"rescored":true}' }],
    format: "JSONEachRow",
  });
  await db.client.insert({
    table: "citizenlab",
    values: [
      { url: "https://a.example/", domain: "a.example", cc: "ZZ", category_code: "NEWS" },
      { url: "https://a.example/", domain: "a.example", cc: "it", category_code: "POLR" },
    ],
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await o?.close();
});

const meta = async (q: string) => {
  const r = await o.get(`/api/v1/measurement_meta?${q}`);
  expect(r.status, r.text).toBe(200);
  return r;
};

describe("measurement_meta", () => {
  it("by measurement_uid: every field, typed as the probe decodes them, newest scores", async () => {
    const r = await meta(`measurement_uid=${uidOf(A)}`);
    expect(r.json).toEqual({
      anomaly: true,
      category_code: "POLR", // Italy's list files a.example differently from the global list
      confirmed: true,
      failure: false,
      input: "https://a.example/",
      measurement_start_time: iso(A.t),
      measurement_uid: uidOf(A),
      probe_asn: 30722,
      probe_cc: "IT",
      report_id: reportOf(A),
      scores: '{"blocking_general":1.0,"rescored":true}',
      test_name: "web_connectivity",
      test_start_time: iso(A.t),
    });
    expect(r.headers.get("cache-control")).toBe("public, max-age=60");
  });

  it("falls back to the global category, and has none for inputs not in a list", async () => {
    expect((await meta(`measurement_uid=${uidOf(G)}`)).json.category_code).toBe("NEWS");
    expect((await meta(`measurement_uid=${uidOf(N)}`)).json).toMatchObject({ category_code: null, input: null, failure: true });
  });

  it("by report_id + input, and by report_id alone for measurements without input", async () => {
    expect((await meta(`report_id=${reportOf(A)}&input=${encodeURIComponent(A.input!)}`)).json.measurement_uid).toBe(uidOf(A));
    expect((await meta(`report_id=${reportOf(N)}`)).json.measurement_uid).toBe(uidOf(N));
    expect((await meta(`report_id=${reportOf(A)}`)).json).toEqual({});
  });

  it("unknown and AS0 measurements: {} (not cached); with full=true the legacy {raw_measurement: \"\"}", async () => {
    for (const q of [`measurement_uid=${uidOf(Z)}`, "measurement_uid=20200101000000.000000_IT_ndt_0123456789abcdef"]) {
      const r = await meta(q);
      expect(r.json).toEqual({});
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect((await meta(`${q}&full=true`)).json).toEqual({ raw_measurement: "" });
    }
  });

  it("full=true for a scored measurement whose body is nowhere: metadata with raw_measurement \"\"", async () => {
    const r = await meta(`measurement_uid=${uidOf(N)}&full=1`);
    expect(r.json).toMatchObject({ measurement_uid: uidOf(N), raw_measurement: "" });
    expect(Object.keys(r.json)).toEqual([...Object.keys(r.json)].sort());
  });

  it("needs measurement_uid or report_id", async () => {
    const r = await o.get("/api/v1/measurement_meta?input=https://a.example/");
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ parameter: "measurement_uid" });
  });
});
