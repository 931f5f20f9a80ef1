import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Intake } from "../../../origin/src/intake/intake";
import { parsePostFile } from "../../../origin/src/intake/post-file";
import { bodyHash16, formatMeasurementUid, previousHourDir } from "../../../origin/src/intake/measurement-uid";
import { generateReportId } from "../../../origin/src/intake/report-id";
import { Spool } from "../../../origin/src/intake/spool";
import { SpoolFullError, SpoolSpace } from "../../../origin/src/intake/spool-space";
import { measurement as sharedMeasurement } from "./helpers";

// Idempotent submission (docs/spool.md#a-retry-is-stored-once): the same stored bytes within the
// same or the previous hour directory get the uid they already have, and nothing is written.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempRoot() {
  const d = mkdtempSync(path.join(tmpdir(), "dedup-test-"));
  dirs.push(d);
  return d;
}

/** A reception clock the test moves; each reading is 1 µs later, as the real one is strictly increasing. */
function clockAt(iso: string) {
  const c = {
    us: BigInt(Date.parse(iso)) * 1000n,
    set(to: string) {
      c.us = BigInt(Date.parse(to)) * 1000n;
    },
    read: () => c.us++,
  };
  return c;
}

async function setup(opts: { root?: string; at?: string; space?: SpoolSpace } = {}) {
  const root = opts.root ?? tempRoot();
  const spool = await Spool.open(root);
  const clock = clockAt(opts.at ?? "2024-02-14T10:15:00.000Z");
  const intake = new Intake({ spool, collectorId: "3", maxBytes: 1 << 20, discard: false, clock: clock.read, space: opts.space });
  return { root, spool, clock, intake };
}

const rid = generateReportId("web_connectivity", "IT", 30722, "3");
// The shared fixture, always in this file's report.
const measurement = (extra: Record<string, unknown> = {}) => sharedMeasurement(rid, extra);
const body = (extra: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ format: "json", content: measurement(extra) }));
const post = (b: string | Buffer, headers: Record<string, string> = {}) =>
  new Request("http://origin/x", { method: "POST", body: b, headers: { "content-type": "application/json", ...headers } });

/** Every `.post` file in the spool, as `hourDir/uid`. */
function postFiles(root: string): string[] {
  const incoming = path.join(root, "incoming");
  return readdirSync(incoming)
    .flatMap((d) => readdirSync(path.join(incoming, d)).map((f) => `${d}/${f}`))
    .filter((f) => f.endsWith(".post"))
    .sort();
}

describe("idempotent submission", () => {
  it("the same bytes twice (any content encoding): the same uid, one file, nothing written the second time", async () => {
    const { root, intake } = await setup();
    const b = body();
    const first = await intake.submitToReport(rid, post(b));
    const again = await intake.submitToReport(rid, post(gzipSync(b), { "content-encoding": "gzip" }));
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ measurementUid: first.measurementUid, reportId: rid, hourDir: first.hourDir, duplicate: true });
    expect(postFiles(root)).toEqual([`${first.hourDir}/${first.measurementUid}.post`]);
  });

  it("also when the intake inserted the URL's report_id (deterministic bytes) and for submit_measurement with a report_id", async () => {
    const { root, intake } = await setup();
    const noRid = body({ report_id: undefined });
    const a = await intake.submitToReport(rid, post(noRid));
    expect((await intake.submitToReport(rid, post(noRid))).measurementUid).toBe(a.measurementUid);
    const sm = JSON.stringify({ format: "json", content: JSON.stringify(measurement({ input: "https://sm.example/" })) });
    const s = await intake.submitMeasurement(post(sm));
    expect(await intake.submitMeasurement(post(sm))).toMatchObject({ measurementUid: s.measurementUid, reportId: rid, duplicate: true });
    expect(postFiles(root)).toHaveLength(2);
  });

  it("different bytes: different uids, one file each", async () => {
    const { root, intake } = await setup();
    const a = await intake.submitToReport(rid, post(body({ input: "https://a.example/" })));
    const b = await intake.submitToReport(rid, post(body({ input: "https://b.example/" })));
    // Even one byte of whitespace is another submission: the content is not interpreted.
    const c = await intake.submitToReport(rid, post(Buffer.concat([body({ input: "https://a.example/" }), Buffer.from(" ")])));
    expect(new Set([a.measurementUid, b.measurementUid, c.measurementUid]).size).toBe(3);
    expect([a, b, c].map((x) => x.duplicate)).toEqual([false, false, false]);
    expect(postFiles(root)).toHaveLength(3);
  });

  it("submit_measurement without a report_id (current probes' shape, absent or \"\"): a retry gets the same report id and uid", async () => {
    const { root, intake, clock } = await setup();
    const current = (m: Record<string, unknown>) =>
      JSON.stringify({ format: "json", content: JSON.stringify(m), nym: null, zkp_request: null, manifest_version: null, protocol_version: null });
    const empty = current(measurement({ report_id: "", input: "https://empty.example/" }));
    const absent = current(measurement({ report_id: undefined, input: "https://absent.example/" }));
    const a = await intake.submitMeasurement(post(empty));
    clock.set("2024-02-14T10:40:00.000Z"); // a later attempt, other second: the id must not depend on it
    const b = await intake.submitMeasurement(post(gzipSync(Buffer.from(empty)), { "content-encoding": "gzip" }));
    expect(b).toMatchObject({ measurementUid: a.measurementUid, reportId: a.reportId, duplicate: true });
    // The id is named after the measurement's own test_start_time, and differs between measurements.
    expect(a.reportId).toMatch(/^20240214T090617Z_webconnectivity_IT_30722_n3_[A-Za-z0-9]{16}$/);
    const c = await intake.submitMeasurement(post(absent));
    const d = await intake.submitMeasurement(post(absent));
    expect(d).toMatchObject({ measurementUid: c.measurementUid, reportId: c.reportId, duplicate: true });
    expect(c.reportId).not.toBe(a.reportId);
    // An object content with report_id "" gets the derived id inserted in the envelope, and dedups too.
    const obj = JSON.stringify({ format: "json", content: measurement({ report_id: "", input: "https://obj.example/" }) });
    const e = await intake.submitMeasurement(post(obj));
    expect(await intake.submitMeasurement(post(obj))).toMatchObject({ measurementUid: e.measurementUid, duplicate: true });
    expect(parsePostFile(e.stored).reportId).toBe(e.reportId);
    expect(postFiles(root)).toHaveLength(3);
  });

  it("a retry across the hour boundary finds the previous hour's file; two hours later it is stored anew", async () => {
    const { root, intake, clock } = await setup({ at: "2024-02-14T10:59:59.900Z" });
    const b = body();
    const first = await intake.submitToReport(rid, post(b));
    expect(first.hourDir).toBe("2024021410_IT_webconnectivity");
    clock.set("2024-02-14T11:00:00.200Z");
    const retry = await intake.submitToReport(rid, post(b));
    expect(retry).toMatchObject({ measurementUid: first.measurementUid, hourDir: "2024021410_IT_webconnectivity", duplicate: true });
    expect(postFiles(root)).toEqual([`2024021410_IT_webconnectivity/${first.measurementUid}.post`]);

    // Outside the window (hour 12 looks at 12 and 11): a new file, and hour 10 left the index.
    clock.set("2024-02-14T12:00:00.100Z");
    const late = await intake.submitToReport(rid, post(b));
    expect(late.duplicate).toBe(false);
    expect(late.hourDir).toBe("2024021412_IT_webconnectivity");
    expect(intake.indexedHourDirs().some((d) => d.startsWith("2024021410"))).toBe(false);
    expect(postFiles(root)).toHaveLength(2);
  });

  it("previousHourDir crosses days, months and years", () => {
    expect(previousHourDir("2024021410_IT_webconnectivity")).toBe("2024021409_IT_webconnectivity");
    expect(previousHourDir("2024030100_DE_ndt")).toBe("2024022923_DE_ndt");
    expect(previousHourDir("2024010100_US_tor")).toBe("2023123123_US_tor");
  });

  it("after a restart the index is loaded once per hour directory (one readdir) and finds the earlier file", async () => {
    const first = await setup();
    const b = body();
    const a = await first.intake.submitToReport(rid, post(b));

    const second = await setup({ root: first.root, at: "2024-02-14T10:30:00.000Z" }); // a new process's state
    const listFiles = vi.spyOn(second.spool, "listFiles");
    const syncHourDir = vi.spyOn(second.spool, "syncHourDir");
    const retry = await second.intake.submitToReport(rid, post(b));
    expect(retry).toMatchObject({ measurementUid: a.measurementUid, duplicate: true });
    // The earlier process may have died before its directory fsync: made durable before the 200.
    expect(syncHourDir).toHaveBeenCalledWith(a.hourDir);
    for (let i = 0; i < 5; i++) await second.intake.submitToReport(rid, post(body({ input: `https://${i}.example/` })));
    expect(await second.intake.submitToReport(rid, post(b))).toMatchObject({ measurementUid: a.measurementUid, duplicate: true });
    // Hour 10 and hour 09 (the previous one), each listed once for 7 submissions.
    expect(listFiles.mock.calls.map(([d]) => d).sort()).toEqual(["2024021409_IT_webconnectivity", "2024021410_IT_webconnectivity"]);
    expect(postFiles(first.root)).toHaveLength(6);
  });

  it("identical submissions in flight at once: one file, the same uid for all", async () => {
    const { root, intake } = await setup();
    const b = body({ input: "https://concurrent.example/" });
    const all = await Promise.all(Array.from({ length: 8 }, (_, i) => intake.submitToReport(rid, post(i % 2 ? gzipSync(b) : b, i % 2 ? { "content-encoding": "gzip" } : {}))));
    expect(new Set(all.map((a) => a.measurementUid)).size).toBe(1);
    expect(all.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(postFiles(root)).toHaveLength(1);
  });

  it("a file removed meanwhile (archived by the uploader) is written again, and that one is found next", async () => {
    const { root, spool, intake } = await setup();
    const b = body();
    const a = await intake.submitToReport(rid, post(b));
    expect(await spool.remove(a.hourDir, a.measurementUid)).toBe(true);
    const again = await intake.submitToReport(rid, post(b));
    expect(again.duplicate).toBe(false);
    expect(again.measurementUid).not.toBe(a.measurementUid);
    expect((await spool.find(again.measurementUid))?.data).toEqual(b);
    expect((await intake.submitToReport(rid, post(b))).measurementUid).toBe(again.measurementUid);
    expect(postFiles(root)).toEqual([`${again.hourDir}/${again.measurementUid}.post`]);
  });

  it("a hash collision never answers with the other measurement's uid", async () => {
    const { root, spool, intake } = await setup();
    const b = body({ input: "https://mine.example/" });
    // Another measurement stored under a uid that carries b's hash: what a 64-bit collision looks like.
    const other = body({ input: "https://other.example/" });
    const collider = formatMeasurementUid("IT", "webconnectivity", bodyHash16(b), BigInt(Date.parse("2024-02-14T10:01:00Z")) * 1000n);
    await spool.write(collider, other);
    const a = await intake.submitToReport(rid, post(b));
    expect(a.duplicate).toBe(false);
    expect(a.measurementUid).not.toBe(collider);
    expect(a.measurementUid.slice(-16)).toBe(collider.slice(-16));
    expect((await spool.find(a.measurementUid))?.data).toEqual(b);
    expect((await spool.find(collider))?.data).toEqual(other);
    // With both in the index, a retry of b still finds b's own file.
    expect(await intake.submitToReport(rid, post(b))).toMatchObject({ measurementUid: a.measurementUid, duplicate: true });
    expect(postFiles(root)).toHaveLength(2);
  });

  it("a directory that cannot be listed: the submission is stored (never lost) and the listing is tried again", async () => {
    const { root, intake } = await setup();
    const b = body();
    const a = await intake.submitToReport(rid, post(b));
    const second = await setup({ root, at: "2024-02-14T10:20:00.000Z" });
    const listFiles = vi.spyOn(second.spool, "listFiles").mockRejectedValueOnce(Object.assign(new Error("EIO"), { code: "EIO" }));
    const stored = await second.intake.submitToReport(rid, post(b));
    expect(stored.duplicate).toBe(false); // without the index there is no proof: stored anew
    expect((await second.intake.submitToReport(rid, post(b))).duplicate).toBe(true);
    expect(listFiles.mock.calls.filter(([d]) => d === a.hourDir)).toHaveLength(2);
    expect(postFiles(root)).toHaveLength(2);
  });

  it("a duplicate needs no space; a new measurement is still refused below the reserve", async () => {
    const root = tempRoot();
    let free = 1 << 30;
    const space = new SpoolSpace(root, 1 << 20, { refreshMs: 0, statfs: async () => ({ bavail: free, bsize: 1 }) });
    const { intake } = await setup({ root, space });
    const b = body();
    const a = await intake.submitToReport(rid, post(b));
    free = (1 << 20) + 10; // room for the body-less check, not for a file
    expect(await intake.submitToReport(rid, post(b))).toMatchObject({ measurementUid: a.measurementUid, duplicate: true });
    await expect(intake.submitToReport(rid, post(body({ input: "https://new.example/" })))).rejects.toBeInstanceOf(SpoolFullError);
    expect(postFiles(root)).toHaveLength(1);
  });
});
