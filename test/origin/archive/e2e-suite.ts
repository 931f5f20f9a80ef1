import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runUploader } from "../../../origin/src/archive/uploader";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { findMeasurementBody } from "../../../origin/src/measurements/body";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { inspectArchive } from "./inspect";
import { sha256, submitAndScore, type Sent } from "./support";

// End to end, in one process: measurements submitted through the intake routes and scored →
// `runUploader({all: true})` → spool empty → every body byte-identical through the API, the
// archive readable by gzip and tar, one ranged read per body. Run once per blob store.

const N = 18;
const KEY_RE = /^raw\/\d{8}\/\d{2}\/[A-Z]{2}\/[A-Za-z0-9]+\/\d{10}_[A-Z]{2}_[A-Za-z0-9]+\.n1\.\d+\.(tar\.gz|jsonl\.gz)$/;

interface JsonlRow {
  measurement_uid: string;
  s3path: string;
  linenum: number;
  byte_offset: number;
  byte_length: number;
  report_id: string;
  input: string;
}

export function archiveEndToEnd(label: string, env: () => Promise<{ env: Record<string, string>; close: () => Promise<void> }>) {
  describe(`archive end to end (${label})`, () => {
    let o: InProcessOrigin;
    let closeStore: () => Promise<void> = async () => {};
    let sent: Sent[];
    const byUid = new Map<string, Sent>();

    beforeAll(async () => {
      const store = await env();
      closeStore = store.close;
      // Small cans, so every hour directory is split over several postcan/JSONL pairs.
      o = await startInProcessOrigin({ ...store.env, UPLOADER_CAN_MAX_BYTES: "20000" });
      sent = await submitAndScore(o.app, o.services, N);
      for (const s of sent) byUid.set(s.uid, s);
    });

    afterAll(async () => {
      await o?.close();
      await closeStore();
    });

    const raw = async (query: string, headers: Record<string, string> = {}) => {
      const res = await o.app.request(`/api/v1/raw_measurement?${query}`, { headers });
      return { res, bytes: Buffer.from(await res.arrayBuffer()) };
    };

    it("serves fresh measurements from the spool, byte for byte, cacheable only briefly", async () => {
      for (const s of sent.slice(0, 4)) {
        const { res, bytes } = await raw(`measurement_uid=${s.uid}`);
        expect(res.status).toBe(200);
        expect(bytes.equals(s.bytes)).toBe(true);
        expect(res.headers.get("cache-control")).toBe("public, max-age=300");
      }
    });

    it("uploader: spool emptied, every measurement archived exactly once and readable by gzip and tar", async () => {
      const report = await runUploader(o.services, { all: true });
      expect(report.failed).toEqual([]);
      expect(report.archived.reduce((n, r) => n + r.measurements, 0)).toBe(N);
      expect(report.archived.length).toBe(3); // one hour directory per (country, test)

      const st = await inspectArchive(o.services, o.app, sent.map((s) => s.uid));
      expect(st.spoolHourDirs).toEqual([]);
      expect(st.spoolFiles).toBe(0);
      expect(st.journals).toEqual([]);
      expect(st.jsonlFinal).toBe(N);
      expect(st.jsonlDistinctUids).toBe(N);
      for (const k of st.keys) expect(k).toMatch(KEY_RE);
      expect(st.keys.filter((k) => k.endsWith(".tar.gz")).length).toBeGreaterThan(3); // several cans per hour
      expect(st.tarMembers.sort()).toEqual(sent.map((s) => `${s.uid.slice(0, 10)}_${s.uid.split("_")[1]}_${s.uid.split("_")[2]}/${s.uid}.post`).sort());
      expect(st.jsonlLines).toBe(N);
      expect(st.jsonlLinesAreJson).toBe(true);
      for (const s of sent) {
        expect(st.bodies[s.uid]).toEqual({ status: 200, sha256: sha256(s.bytes), cacheControl: "public, max-age=86400" });
      }
    });

    it("reads each archived body with one ranged read of its own gzip member (≤ 2× the body)", async () => {
      const rows = await queryRows<JsonlRow>(o.services.db, "SELECT * FROM jsonl FINAL ORDER BY s3path, linenum");
      expect(rows.length).toBe(N);
      const lines = new Map<string, number[]>();
      for (const r of rows) {
        const s = byUid.get(r.measurement_uid)!;
        expect(r.report_id).toBe(s.reportId);
        expect(r.input).toBe(s.input ?? "");
        const member = await o.services.blobs.get(r.s3path, { offset: r.byte_offset, length: r.byte_length });
        expect(gunzipSync(member!).equals(Buffer.concat([s.bytes, Buffer.from("\n")]))).toBe(true);
        expect(r.byte_length).toBeLessThanOrEqual(2 * s.bytes.length);
        const body = await findMeasurementBody(o.services, r.measurement_uid);
        expect(body).toMatchObject({ source: "archive", blobBytesRead: r.byte_length });
        expect(body!.bytes.equals(s.bytes)).toBe(true);
        lines.set(r.s3path, [...(lines.get(r.s3path) ?? []), r.linenum]);
      }
      // Line numbers count from 0 in every file, without gaps.
      for (const nums of lines.values()) expect(nums).toEqual(nums.map((_, i) => i));
    });

    it("GET /api/v1/measurement/{uid}: the body, an hour of caching, download and revalidation", async () => {
      const s = sent[5]!;
      const res = await o.app.request(`/api/v1/measurement/${s.uid}?download=true`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(s.bytes)).toBe(true);
      expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.headers.get("content-disposition")).toBe(`attachment; filename=ooni_measurement-${s.uid}.json`);
      const again = await o.app.request(`/api/v1/measurement/${s.uid}`, { headers: { "If-None-Match": res.headers.get("etag")! } });
      expect(again.status).toBe(304);
    });

    it("raw_measurement by report_id + input (and report_id alone when there is no input)", async () => {
      const withInput = sent.find((s) => s.input !== null)!;
      const a = await raw(`report_id=${withInput.reportId}&input=${encodeURIComponent(withInput.input!)}`);
      expect(a.res.status).toBe(200);
      expect(a.bytes.equals(withInput.bytes)).toBe(true);
      const noInput = sent.find((s) => s.input === null)!;
      const b = await raw(`report_id=${noInput.reportId}`);
      expect(b.res.status).toBe(200);
      expect(b.bytes.equals(noInput.bytes)).toBe(true);
      expect((await raw(`report_id=${withInput.reportId}&input=https://not-measured.example/`)).res.status).toBe(404);
    });

    it("measurement_meta: the probe's shape, and full=true adds the archived body", async () => {
      const s = sent.find((x) => x.input !== null)!;
      const res = await o.app.request(`/api/v1/measurement_meta?measurement_uid=${s.uid}&full=true`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=60");
      const meta = (await res.json()) as Record<string, unknown>;
      expect(meta).toMatchObject({
        measurement_uid: s.uid,
        report_id: s.reportId,
        input: s.input,
        probe_cc: s.cc,
        test_name: s.testName,
        anomaly: expect.any(Boolean),
        confirmed: expect.any(Boolean),
        failure: expect.any(Boolean),
        scores: expect.any(String),
        probe_asn: expect.any(Number),
      });
      expect(meta.measurement_start_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(meta.raw_measurement).toBe(s.bytes.toString("utf8"));
    });

    it("unknown or malformed ids: 404 JSON for bodies, {} for measurement_meta, 400 naming the parameter", async () => {
      const unknown = "20200101000000.000000_IT_ndt_0123456789abcdef";
      const r1 = await raw(`measurement_uid=${unknown}`);
      expect(r1.res.status).toBe(404);
      expect(JSON.parse(r1.bytes.toString())).toEqual({ error: "measurement not found" });
      expect((await o.app.request(`/api/v1/measurement/${unknown}`)).status).toBe(404);
      const meta = await o.app.request(`/api/v1/measurement_meta?measurement_uid=${unknown}`);
      expect(await meta.json()).toEqual({});
      expect(meta.headers.get("cache-control")).toBe("no-store");
      const full = await o.app.request(`/api/v1/measurement_meta?measurement_uid=${unknown}&full=true`);
      expect(await full.json()).toEqual({ raw_measurement: "" });

      for (const [path, parameter] of [
        ["/api/v1/raw_measurement?measurement_uid=../../etc/passwd", "measurement_uid"],
        ["/api/v1/raw_measurement?report_id=../../etc/passwd", "report_id"],
        ["/api/v1/raw_measurement", "measurement_uid"],
        ["/api/v1/measurement_meta?report_id=20240101T000000Z_ndt_IT_1_n1_abc%2F..%2F..", "report_id"],
        ["/api/v1/measurement_meta?measurement_uid=x&full=maybe", "full"], // a malformed uid alone is "not found" (as production); a bad flag is still a 400
        [`/api/v1/measurement/${encodeURIComponent("../../../etc/passwd")}`, "measurement_uid"],
        ["/api/v1/measurement/20210208220710.181572_MA_..%2F.._7888edc7748936bf", "measurement_uid"],
      ] as const) {
        const res = await o.app.request(path);
        expect(res.status, path).toBe(400);
        expect(await res.json(), path).toMatchObject({ error: expect.any(String), parameter });
      }
    });

    it("a second run finds nothing to do and changes nothing", async () => {
      const before = await inspectArchive(o.services, o.app, []);
      const report = await runUploader(o.services, { all: true });
      expect(report).toEqual({ archived: [], failed: [] });
      const after = await inspectArchive(o.services, o.app, []);
      expect(after).toEqual(before);
    });

    it("measurements arriving later in an archived hour get the next file numbers: nothing is overwritten", async () => {
      const before = new Map<string, string>();
      for await (const info of o.services.blobs.list("raw/")) before.set(info.key, sha256((await o.services.blobs.get(info.key))!));
      const more = await submitAndScore(o.app, o.services, 3, N);
      const report = await runUploader(o.services, { all: true });
      expect(report.failed).toEqual([]);
      for (const [key, digest] of before) expect(sha256((await o.services.blobs.get(key))!), key).toBe(digest);
      const all = [...sent, ...more];
      const st = await inspectArchive(o.services, o.app, all.map((s) => s.uid));
      expect(st.keys.length).toBeGreaterThan(before.size);
      expect(st.jsonlFinal).toBe(N + 3);
      expect(new Set(st.tarMembers).size).toBe(N + 3);
      expect(st.tarMembers.length).toBe(N + 3);
      expect(st.jsonlLines).toBe(N + 3);
      for (const s of all) expect(st.bodies[s.uid]?.sha256).toBe(sha256(s.bytes));
      sent = all;
      for (const s of more) byUid.set(s.uid, s);
    });

    it("index rows without byte offsets (legacy imports) fall back to reading the file by line", async () => {
      const [row] = await queryRows<JsonlRow>(o.services.db, "SELECT * FROM jsonl FINAL WHERE linenum = 1 LIMIT 1");
      // A newer row for the same measurement, as the legacy archive import would write it.
      await o.services.db.client.insert({
        table: "jsonl",
        values: [{ ...row, byte_offset: 0, byte_length: 0, date: "2024-01-01", source: "legacy" }],
        format: "JSONEachRow",
      });
      const body = await findMeasurementBody(o.services, row!.measurement_uid);
      expect(body!.bytes.equals(byUid.get(row!.measurement_uid)!.bytes)).toBe(true);
      expect(body!.blobBytesRead).toBe((await o.services.blobs.head(row!.s3path))!.size);
    });

    it("an index row whose file is gone is a 404, not a 500", async () => {
      const [row] = await queryRows<JsonlRow>(o.services.db, "SELECT * FROM jsonl FINAL WHERE linenum = 0 ORDER BY s3path LIMIT 1");
      await o.services.blobs.delete(row!.s3path);
      expect((await raw(`measurement_uid=${row!.measurement_uid}`)).res.status).toBe(404);
    });
  });
}
