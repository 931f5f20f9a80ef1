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
      verification_status: "unverified", // is_verified defaults to "u" until issue 19 fills it
    });
    expect(r.headers.get("cache-control")).toBe("public, max-age=60");
  });

  it("falls back to the global category, and has none for inputs not in a list", async () => {
    expect((await meta(`measurement_uid=${uidOf(G)}`)).json.category_code).toBe("NEWS");
    // As both upstream APIs: input "" when there was none; category_code "" when nothing files the
    // input, null only for a report_id lookup without input
    expect((await meta(`measurement_uid=${uidOf(N)}`)).json).toMatchObject({ category_code: "", input: "", failure: true });
    expect((await meta(`report_id=${reportOf(N)}`)).json).toMatchObject({ category_code: null, input: "", failure: true });
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

// What Explorer and upstream's production API do with lookups the strict shapes would refuse, and
// the verification_status upstream answers (ooni/backend oonimeasurements v1/measurements.py).
describe("lookups as production answers them", () => {
  const R = "20200101T000000Z_dnscheck_IT_30722_n1_listlistlistlist";
  const L: Row = { id: "L", t: at(3, 9), test: "dnscheck", report: R };
  const E: Row = { id: "E", t: at(3, 10), report: "20200101T000000Z_webconnectivity_IT_30722_n1_emptyemptyempty0", input: "https://e.example/" };
  const Eb: Row = { id: "e", t: at(3, 11), report: "20200101T000000Z_webconnectivity_IT_30722_n1_emptyemptyempty0" };
  const V: Row = { id: "V", t: at(3, 12) };
  const F: Row = { id: "F", t: at(3, 13) };
  const legacyUid = "temp-id-1234567890";

  beforeAll(async () => {
    await o.services.db.client.insert({
      table: "fastpath",
      values: [
        { ...fastpathRow(L), input: "{1.1.1.1:853,8.8.8.8:853}", domain: "" },
        fastpathRow(E),
        fastpathRow(Eb),
        { ...fastpathRow(V), is_verified: "t" },
        { ...fastpathRow(F), is_verified: "f" },
        { ...fastpathRow({ id: "O", t: at(3, 14) }), measurement_uid: legacyUid },
      ],
      format: "JSONEachRow",
    });
  });

  it("a malformed or unknown uid is the not-found answer (200 {}, or raw_measurement \"\" with full), not a 400", async () => {
    for (const uid of ["01234567890123456789", "not-a-uid", "20210208220710.181572_MA_ndt", "../../etc/passwd"]) {
      expect((await meta(`measurement_uid=${encodeURIComponent(uid)}`)).json, uid).toEqual({});
      expect((await meta(`measurement_uid=${encodeURIComponent(uid)}&full=true`)).json, uid).toEqual({ raw_measurement: "" });
    }
    // Control characters and absurd lengths are still refused.
    expect((await o.get("/api/v1/measurement_meta?measurement_uid=a%00b")).status).toBe(400);
    expect((await o.get(`/api/v1/measurement_meta?measurement_uid=${"x".repeat(201)}`)).status).toBe(400);
  });

  it("a legacy-layout uid that is stored is found", async () => {
    expect((await meta(`measurement_uid=${legacyUid}`)).json.measurement_uid).toBe(legacyUid);
  });

  it("by report_id: a measurement with list-valued input is the report's measurement; input='' answers too", async () => {
    expect((await meta(`report_id=${R}`)).json.measurement_uid).toBe(uidOf(L));
    // An input that the report does not have falls back to its measurement without input (as upstream).
    expect((await meta(`report_id=${reportOf(E)}&input=${encodeURIComponent("https://other.example/")}`)).json.measurement_uid).toBe(uidOf(Eb));
    expect((await meta(`report_id=${reportOf(E)}&input=${encodeURIComponent("https://e.example/")}`)).json.measurement_uid).toBe(uidOf(E));
    expect((await meta(`report_id=${reportOf(E)}`)).json.measurement_uid).toBe(uidOf(Eb));
  });

  it("verification_status from is_verified: verified, failed, unverified", async () => {
    expect((await meta(`measurement_uid=${uidOf(V)}`)).json.verification_status).toBe("verified");
    expect((await meta(`measurement_uid=${uidOf(F)}`)).json.verification_status).toBe("failed");
    const list = await o.get(`/api/v1/measurements?report_id=${reportOf(V)}`);
    expect(list.json.results.map((x: { verification_status: string }) => x.verification_status)).toEqual(["verified"]);
  });
});
