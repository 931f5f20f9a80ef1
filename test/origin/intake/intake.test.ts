import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { compress } from "@mongodb-js/zstd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntakeError } from "../../../origin/src/intake/errors";
import { Intake } from "../../../origin/src/intake/intake";
import { parsePostFile } from "../../../origin/src/intake/post-file";
import { generateReportId } from "../../../origin/src/intake/report-id";
import { Spool } from "../../../origin/src/intake/spool";

let root: string;
let spool: Spool;
let intake: Intake;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "intake-test-"));
  spool = await Spool.open(path.join(root, "spool"));
  intake = new Intake({ spool, collectorId: "3", maxBytes: 256 * 1024, discard: false });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rid = generateReportId("web_connectivity", "IT", 30722, "3");
function measurement(extra: Record<string, unknown> = {}) {
  return {
    data_format_version: "0.2.0",
    input: "https://example.org/",
    measurement_start_time: "2024-02-14 09:06:20",
    probe_asn: "AS30722",
    probe_cc: "IT",
    probe_network_name: "Vodafone Italia S.p.A.",
    report_id: rid,
    software_name: "ooniprobe-cli",
    software_version: "3.22.0",
    test_keys: { accessible: true, blocking: false },
    test_name: "web_connectivity",
    test_runtime: 1.23,
    test_start_time: "2024-02-14 09:06:17",
    test_version: "0.4.3",
    ...extra,
  };
}
const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
  new Request("http://origin/x", { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

async function refused(p: Promise<unknown>) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IntakeError);
  return { status: (err as IntakeError).status, error: (err as IntakeError).error };
}

describe("POST /report/{report_id} intake", () => {
  it("stores the decoded body byte for byte, whatever the content encoding", async () => {
    // Odd spacing and key order on purpose: nothing may be re-serialized.
    const body = Buffer.from(`{ "content" : ${JSON.stringify(measurement(), null, 1)},\n"format":"json" }`);
    const variants: { bytes: Buffer; headers: Record<string, string> }[] = [
      { bytes: body, headers: {} },
      { bytes: gzipSync(body), headers: { "content-encoding": "gzip" } },
      { bytes: await compress(body), headers: { "content-encoding": "zstd" } },
    ];
    for (const encoded of variants) {
      const a = await intake.submitToReport(rid, post(encoded.bytes, encoded.headers));
      expect(a.measurementUid).toMatch(/^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$/);
      expect((await spool.find(a.measurementUid))?.data).toEqual(body);
      expect(parsePostFile(a.stored)).toEqual({ reportId: rid, measurement: measurement(), isVerified: "u" });
    }
  });

  it("adds the report_id at envelope level when the measurement does not carry it", async () => {
    const m = measurement({ report_id: undefined });
    const body = Buffer.from(JSON.stringify({ format: "json", content: m }));
    const a = await intake.submitToReport(rid, post(body));
    expect(a.stored.toString()).toBe(`{"report_id":"${rid}",${body.toString().slice(1)}`);
    expect(parsePostFile(a.stored).reportId).toBe(rid);
  });

  it.each([
    ["probe_cc", { probe_cc: "DE" }, "Inconsistent measurement"],
    ["probe_asn", { probe_asn: "AS3320" }, "Inconsistent measurement"],
    ["test_name", { test_name: "ndt" }, "Inconsistent measurement"],
    ["report_id", { report_id: generateReportId("web_connectivity", "IT", 30722, "3") }, "Inconsistent measurement"],
    ["malformed probe_asn", { probe_asn: "30722" }, "asn_invalid"],
    ["lower-case probe_cc", { probe_cc: "it" }, "bad_metadata"],
    ["missing software_name", { software_name: undefined }, "bad_metadata"],
    ["numeric test_name", { test_name: 5 }, "bad_metadata"],
    ["slash in software_version", { software_version: "1/2" }, "bad_metadata"],
  ])("refuses a measurement with mismatched or bad %s", async (_what, extra, error) => {
    const body = JSON.stringify({ format: "json", content: measurement(extra) });
    expect(await refused(intake.submitToReport(rid, post(body)))).toEqual({ status: 400, error });
  });

  it("refuses AS0 and ZZ report ids (never a silent 200)", async () => {
    const body = JSON.stringify({ format: "json", content: measurement() });
    expect(await refused(intake.submitToReport(generateReportId("web_connectivity", "IT", 0, "3"), post(body)))).toEqual({ status: 400, error: "asn_0" });
    expect(await refused(intake.submitToReport(generateReportId("web_connectivity", "ZZ", 30722, "3"), post(body)))).toEqual({ status: 400, error: "cc_zz" });
  });

  it.each([
    ["not JSON", "{nope"],
    ["JSON null", "null"],
    ["an array", "[]"],
    ["no content", '{"format":"json"}'],
    ["content a number", '{"format":"json","content":5}'],
    ["content an array", '{"format":"json","content":[]}'],
    ["content a string that is not JSON", '{"format":"json","content":"{x"}'],
    ["yaml", '{"format":"yaml","content":{}}'],
  ])("refuses a body that is %s with 400", async (_what, body) => {
    expect((await refused(intake.submitToReport(rid, post(body)))).status).toBe(400);
  });

  it("refuses invalid UTF-8 and oversized bodies", async () => {
    const bad = Buffer.concat([Buffer.from('{"format":"json","content":{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
    expect((await refused(intake.submitToReport(rid, post(bad)))).status).toBe(400);
    const huge = JSON.stringify({ format: "json", content: measurement({ pad: "x".repeat(300 * 1024) }) });
    expect(await refused(intake.submitToReport(rid, post(huge)))).toEqual({ status: 413, error: "request body too large" });
    expect(await refused(intake.submitToReport(rid, post(gzipSync(huge), { "content-encoding": "gzip" })))).toEqual({
      status: 413,
      error: "request body too large",
    });
  });
});

describe("POST /api/v1/submit_measurement intake", () => {
  it("wraps the measurement string verbatim with a generated report_id", async () => {
    const text = JSON.stringify(measurement({ report_id: undefined }), null, 2); // spacing preserved
    const body = JSON.stringify({ format: "json", content: text, nym: null, zkp_request: null, manifest_version: null, protocol_version: null });
    const a = await intake.submitMeasurement(post(body));
    expect(a.reportId).toMatch(/^\d{8}T\d{6}Z_webconnectivity_IT_30722_n3_[A-Za-z0-9]{16}$/);
    expect(a.stored.toString()).toBe(`{"format":"json","report_id":"${a.reportId}","content":${text}}`);
    expect((await spool.find(a.measurementUid))?.data).toEqual(a.stored);
    expect(parsePostFile(a.stored)).toEqual({ reportId: a.reportId, measurement: JSON.parse(text), isVerified: "u" });
  });

  it("keeps a report_id the measurement already has, if it agrees with the measurement", async () => {
    const text = JSON.stringify(measurement());
    const a = await intake.submitMeasurement(post(JSON.stringify({ format: "json", content: text })));
    expect(a.reportId).toBe(rid);
    const other = JSON.stringify(measurement({ report_id: generateReportId("ndt", "IT", 30722, "1") }));
    expect((await refused(intake.submitMeasurement(post(JSON.stringify({ format: "json", content: other }))))).error).toBe("Inconsistent measurement");
  });

  it("accepts an object content too (older clients) and refuses AS0/ZZ measurements", async () => {
    const a = await intake.submitMeasurement(post(JSON.stringify({ format: "json", content: measurement({ report_id: undefined }) })));
    expect(parsePostFile(a.stored).reportId).toBe(a.reportId);
    const zz = JSON.stringify({ format: "json", content: JSON.stringify(measurement({ probe_cc: "ZZ", report_id: undefined })) });
    expect(await refused(intake.submitMeasurement(post(zz)))).toEqual({ status: 400, error: "cc_zz" });
    const as0 = JSON.stringify({ format: "json", content: JSON.stringify(measurement({ probe_asn: "AS0", report_id: undefined })) });
    expect(await refused(intake.submitMeasurement(post(as0)))).toEqual({ status: 400, error: "asn_0" });
  });
});

describe("opening a report", () => {
  const t = { probe_asn: "AS30722", probe_cc: "IT", test_name: "web_connectivity", software_name: "miniooni", software_version: "0.1.0-dev" };
  it("hands out a report_id for the template's network and test", () => {
    expect(intake.openReport(t).reportId).toMatch(/^\d{8}T\d{6}Z_webconnectivity_IT_30722_n3_[A-Za-z0-9]{16}$/);
    expect(intake.openReport({ ...t, probe_cc: "it", probe_asn: "as30722" }).reportId).toContain("_IT_30722_");
  });
  it.each([
    [{ probe_asn: "AS0" }, "asn_0"],
    [{ probe_cc: "ZZ" }, "cc_zz"],
    [{ probe_asn: "ASX" }, "asn_invalid"],
    [{ probe_asn: "" }, "asn_invalid"],
    [{ probe_cc: "ITA" }, "bad_metadata"],
    [{ test_name: "" }, "bad_metadata"],
    [{ test_name: "../x" }, "bad_metadata"],
    [{ software_name: "a b" }, "bad_metadata"],
  ])("refuses %j with %s", (patch, error) => {
    expect(() => intake.openReport({ ...t, ...patch })).toThrow(expect.objectContaining({ status: 400, error }));
  });
});

describe("benchmark-only discard mode", () => {
  it("answers but stores nothing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "intake-discard-"));
    try {
      const s = await Spool.open(dir);
      const discard = new Intake({ spool: s, collectorId: "1", maxBytes: 1 << 20, discard: true });
      const a = await discard.submitToReport(rid, post(JSON.stringify({ format: "json", content: measurement() })));
      expect(a.measurementUid).toMatch(/_IT_webconnectivity_/);
      expect(await s.listHourDirs()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
