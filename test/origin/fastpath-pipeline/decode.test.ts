import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeArchivedLine, decodePost, UnreadableMeasurement } from "../../../origin/src/fastpath/pipeline/decode";
import { gzipLines } from "../../../origin/src/fastpath/pipeline/jsonl";
import { scoreItem } from "../../../origin/src/fastpath/pipeline/score-item";
import { buildFingerprintSet } from "../../../origin/src/fastpath/fingerprints";
import { envelopeAroundMeasurementText, withReportIdInserted } from "../../../origin/src/intake/post-file";
import { REPORT_ID, webConnectivity } from "./helpers";

const empty = buildFingerprintSet([], []);
const msm = webConnectivity("dns", 1);

async function collect(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of gen) out.push(l);
  return out;
}

describe("decodePost (spool files)", () => {
  it("reads both envelope shapes the intake writes, with the report id rule", () => {
    const submit = decodePost(envelopeAroundMeasurementText(JSON.stringify(msm), REPORT_ID));
    expect(submit.reportId).toBe(REPORT_ID);
    expect(submit.measurement.test_name).toBe("web_connectivity");
    const report = decodePost(withReportIdInserted(Buffer.from(JSON.stringify({ format: "json", content: msm })), "other"));
    expect(report.reportId).toBe("other");
    const inner = decodePost(Buffer.from(JSON.stringify({ format: "json", report_id: "outer", content: { ...msm, report_id: "inner" } })));
    expect(inner.reportId).toBe("inner");
  });

  it("reads a legacy yaml envelope", () => {
    const yaml = "probe_cc: IT\ntest_name: tcp_connect\ntest_keys:\n  connection: success\n";
    const d = decodePost(Buffer.from(JSON.stringify({ format: "yaml", report_id: "r1", content: yaml })));
    expect(d.measurement.test_name).toBe("tcp_connect");
    expect(d.reportId).toBe("r1");
  });

  it.each([
    ["not JSON", "hello"],
    ["no content", '{"format":"json"}'],
    ["content not an object", '{"format":"json","content":[1,2]}'],
    ["content string not JSON", '{"format":"json","content":"{oops"}'],
    ["broken yaml", JSON.stringify({ format: "yaml", content: "a: [unclosed" })],
  ])("%s → UnreadableMeasurement", (_what, text) => {
    expect(() => decodePost(Buffer.from(text))).toThrow(UnreadableMeasurement);
    const r = scoreItem({ kind: "post", uid: "u", data: Buffer.from(text) }, empty);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.retryable).toBeFalsy();
  });
});

describe("scoreItem: measurements upstream gives no row", () => {
  it.each([
    ["probe_cc ZZ", { probe_cc: "ZZ" }],
    ["probe_cc zz", { probe_cc: "zz" }],
    ["probe_asn AS0", { probe_asn: "AS0" }],
    ["probe_asn as0", { probe_asn: "as0" }],
  ])("%s: excluded (not unreadable, not retryable)", (_label, override) => {
    const text = JSON.stringify({ ...msm, ...override });
    const post = scoreItem({ kind: "post", uid: "u", data: envelopeAroundMeasurementText(text, REPORT_ID) }, empty);
    const line = scoreItem({ kind: "line", data: text, uid: "u" }, empty);
    for (const r of [post, line]) {
      expect(r).toMatchObject({ ok: false, excluded: true });
      expect(r.ok === false && r.retryable).toBeFalsy();
    }
  });

  it("scores AS00 / ZZZ / a missing probe_cc like any other", () => {
    for (const override of [{ probe_asn: "AS00" }, { probe_cc: "ZZZ" }, { probe_cc: undefined }]) {
      const r = scoreItem({ kind: "line", data: JSON.stringify({ ...msm, ...override }), uid: "u", reportId: "r" }, empty);
      expect(r.ok).toBe(true);
    }
  });

  it("no report id anywhere (measurement, envelope, archive index): excluded; any one of them: scored", () => {
    const { report_id: _drop, ...bare } = { ...msm, report_id: "x" };
    const text = JSON.stringify(bare);
    expect(scoreItem({ kind: "line", data: text, uid: "u" }, empty)).toMatchObject({ ok: false, excluded: true });
    expect(scoreItem({ kind: "line", data: JSON.stringify({ ...bare, report_id: null }), uid: "u" }, empty)).toMatchObject({ excluded: true });
    expect(scoreItem({ kind: "line", data: text, uid: "u", reportId: "r" }, empty).ok).toBe(true);
    expect(scoreItem({ kind: "post", uid: "u", data: envelopeAroundMeasurementText(text, REPORT_ID) }, empty).ok).toBe(true);
    expect(scoreItem({ kind: "line", data: JSON.stringify({ ...bare, report_id: "" }), uid: "u" }, empty).ok).toBe(true);
  });
});

describe("decodeArchivedLine (JSONL)", () => {
  it("takes uid and report id from the archive index when given", () => {
    const d = decodeArchivedLine(JSON.stringify(msm), { uid: "20240101000000.000000_IT_webconnectivity_0123456789abcdef", reportId: "r" });
    expect(d.measurementUid).toBe("20240101000000.000000_IT_webconnectivity_0123456789abcdef");
    expect(d.reportId).toBe("r");
  });

  it("prefers the measurement's own report id, then its own uid, then upstream's trivial id", () => {
    const own = decodeArchivedLine(JSON.stringify({ ...msm, report_id: "mine", measurement_uid: "own-uid" }), { reportId: "index" });
    expect(own).toMatchObject({ reportId: "mine", measurementUid: "own-uid" });
    const trivial = decodeArchivedLine(JSON.stringify(msm));
    expect(trivial.measurementUid).toMatch(/^01\d{8}[0-9a-f]{30}$/);
    expect(decodeArchivedLine(JSON.stringify(msm)).measurementUid).toBe(trivial.measurementUid);
  });

  it("reads an envelope line", () => {
    const line = envelopeAroundMeasurementText(JSON.stringify(msm), REPORT_ID).toString();
    expect(decodeArchivedLine(line).reportId).toBe(REPORT_ID);
  });

  it("refuses what is not a measurement", () => {
    expect(() => decodeArchivedLine("[1]")).toThrow(UnreadableMeasurement);
    expect(() => decodeArchivedLine("{")).toThrow(UnreadableMeasurement);
  });
});

describe("gzipLines", () => {
  it("reads concatenated gzip members, CRLF and blank lines", async () => {
    const file = Buffer.concat([gzipSync("a\r\nb\n"), gzipSync("c"), gzipSync("\nd\n\n"), gzipSync("")]);
    expect(await collect(gzipLines(file))).toEqual(["a", "b", "c", "d"]);
  });

  it("joins a line that spans many decompressed chunks", async () => {
    const long = "x".repeat(3_000_000);
    expect(await collect(gzipLines(gzipSync(`first\n${long}\nlast`)))).toEqual(["first", long, "last"]);
  });

  it("yields the good lines before a truncation or a damaged member, then rejects", async () => {
    const good = gzipSync("one\ntwo\n");
    // Incompressible filler, so the damaged member starts well after the first input slice.
    const filler = gzipSync(`${randomBytes(300_000).toString("base64")}\n`);
    const damaged = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
    for (const file of [good.subarray(0, good.length - 6), Buffer.concat([good, filler, damaged])]) {
      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const l of gzipLines(file)) seen.push(l);
        })(),
      ).rejects.toThrow();
      expect(seen.slice(0, 2)).toEqual(["one", "two"]);
    }
  });
});

describe("scoreItem: scoring only (bench/fastpath's comparison with upstream)", () => {
  it("gives the production row without observations; production gives both", () => {
    const data = envelopeAroundMeasurementText(JSON.stringify(msm), REPORT_ID);
    const production = scoreItem({ kind: "post", uid: "20240101000000.000000_IT_webconnectivity_0123456789abcdef", data }, empty);
    const scoringOnly = scoreItem({ kind: "post", uid: "20240101000000.000000_IT_webconnectivity_0123456789abcdef", data }, empty, { observations: false });
    expect(production.ok && scoringOnly.ok).toBe(true);
    if (!production.ok || !scoringOnly.ok) return;
    expect(production.observations?.web.length).toBeGreaterThan(0);
    expect(scoringOnly.observations).toBeUndefined();
    expect(scoringOnly.row).toEqual(production.row);
  });
});
