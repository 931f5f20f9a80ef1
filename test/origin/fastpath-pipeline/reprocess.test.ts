import { gzipSync } from "node:zlib";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalBlobStore } from "../../../origin/src/blobstore";
import { queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { reprocessPrefixes } from "../../../origin/src/fastpath/commands";
import { startFastpath } from "../../../origin/src/fastpath/pipeline";
import { dayPrefixes, reprocess, type ReprocessProgress } from "../../../origin/src/fastpath/pipeline/reprocess";
import { FastpathStore } from "../../../origin/src/fastpath/pipeline/store";
import { parseMeasurementUid } from "../../../origin/src/intake/measurement-uid";
import { Spool } from "../../../origin/src/intake/spool";
import {
  blockpageFingerprint,
  eventually,
  expected,
  openTempDb,
  pipelineConfig,
  REPORT_ID,
  rowsFor,
  silent,
  spoolMeasurement,
  tempDir,
  webConnectivity,
  type Verdict,
} from "./helpers";

// Re-scoring archived JSONL (written here the way the archive uploader writes it: the probe's
// measurement bytes, one gzip member per line, jsonl index rows) gives the live pipeline's rows,
// replacing them.

const tmp = tempDir("reprocess");
let db: Database;
let blobs: LocalBlobStore;

beforeAll(async () => {
  db = await openTempDb(tmp.dir);
  blobs = new LocalBlobStore(path.join(tmp.dir, "blobs"));
});

afterAll(async () => {
  await db?.close();
  tmp.cleanup();
});

const COLUMNS = `measurement_uid, report_id, input, probe_cc, probe_asn, test_name, test_start_time, measurement_start_time,
  scores, platform, anomaly, confirmed, msm_failure, domain, software_name, software_version, test_version, test_runtime,
  architecture, engine_name, engine_version, blocking_type, test_helper_address, test_helper_type, ooni_run_link_id, is_verified`;

async function allRows(uids: string[]) {
  return queryRows<Record<string, unknown>>(
    db,
    `SELECT ${COLUMNS} FROM fastpath FINAL WHERE measurement_uid IN {uids:Array(String)} ORDER BY measurement_uid`,
    { uids },
  );
}

function archiveKey(hourDir: string, n: number): string {
  const [stamp, cc, test] = hourDir.split("_") as [string, string, string];
  return `raw/${stamp.slice(0, 8)}/${stamp.slice(8, 10)}/${cc}/${test}/${hourDir}.n1.${n}.jsonl.gz`;
}

describe("fastpath reprocess", () => {
  it("re-scores archived JSONL into the same rows, replacing them", async () => {
    const store = new FastpathStore(db);
    await store.replaceFingerprints({ dns: [], http: [] });
    const spool = await Spool.open(path.join(tmp.dir, "spool"));
    const verdicts: Verdict[] = ["ok", "dns", "confirmed", "failed"];
    const stored: { uid: string; text: string; verdict: Verdict }[] = [];
    for (let i = 0; i < 30; i++) {
      const msm = webConnectivity(verdicts[i % 4]!, i);
      // Half without a report id of their own (submit_measurement): only the index knows it.
      if (i % 2 === 0) msm.report_id = REPORT_ID;
      // Some carried an anonymous credential: its verdict is in the spool envelope, not in the archive.
      const credential = i % 3 === 0 ? "t" : i % 3 === 1 ? "f" : "u";
      stored.push({ uid: await spoolMeasurement(spool, msm, undefined, credential), text: JSON.stringify(msm), verdict: verdicts[i % 4]! });
    }
    const uids = stored.map((s) => s.uid);

    // Live scoring, with no fingerprints yet.
    const live = startFastpath({ config: pipelineConfig(), db, spool, log: silent });
    try {
      await eventually(async () => ((await rowsFor(db, uids)).size === uids.length ? true : undefined), 30_000, "live rows");
    } finally {
      await live.stop();
    }
    const liveRows = await allRows(uids);

    // Archive them as the uploader does, one file per hour directory.
    const byHour = new Map<string, typeof stored>();
    for (const s of stored) {
      const h = parseMeasurementUid(s.uid)!.hourDir;
      byHour.set(h, [...(byHour.get(h) ?? []), s]);
    }
    const index: Record<string, unknown>[] = [];
    for (const [hourDir, list] of byHour) {
      const key = archiveKey(hourDir, 0);
      await blobs.put(key, Buffer.concat(list.map((s) => gzipSync(`${s.text}\n`))));
      list.forEach((s, linenum) =>
        index.push({ report_id: REPORT_ID, input: "", s3path: key, linenum, measurement_uid: s.uid, date: "2024-01-01", source: "n1" }),
      );
    }
    await db.client.insert({ table: "jsonl", values: index, format: "JSONEachRow" });
    // An upstream-style file without index rows (uids inside the lines), with one broken line.
    const day = archiveKey([...byHour.keys()][0]!, 1);
    // (Dated now: the date rules compare it with measurement_start_time.)
    const upstreamUid = `${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}.000000_IT_webconnectivity_00000000000000aa`;
    const upstream = { ...webConnectivity("dns", 99), report_id: "upstream-report", measurement_uid: upstreamUid };
    // …and two that upstream's fastpath gives no row (probe_cc ZZ, probe_asn AS0): neither do we.
    const zz = { ...webConnectivity("dns", 98), probe_cc: "zz", measurement_uid: upstreamUid.replace("aa", "bb") };
    const as0 = { ...webConnectivity("dns", 97), probe_asn: "AS0", measurement_uid: upstreamUid.replace("aa", "cc") };
    await blobs.put(day, gzipSync(`${JSON.stringify(upstream)}\n{not json\n${JSON.stringify(zz)}\n${JSON.stringify(as0)}\n`));
    // A damaged file.
    await blobs.put(archiveKey([...byHour.keys()][0]!, 2), Buffer.from("not gzip at all"));

    // Now the fingerprint is known: reprocessing confirms what the live pipeline could not.
    await store.replaceFingerprints({ dns: [blockpageFingerprint], http: [] });
    const progress: ReprocessProgress[] = [];
    const problems: string[] = [];
    const prefixes = [...new Set([...byHour.keys()].map((h) => `raw/${h.slice(0, 8)}/`))];
    const summary = await reprocess(
      { blobs, store },
      { prefixes, batchRows: 7, workers: 2, semantics: "fastpath", onProgress: (p) => progress.push(p), onProblem: (w) => problems.push(w) },
    );
    expect(summary).toMatchObject({ aborted: false, lines: 34, rows: 31, unreadable: 1, excluded: 2, badFiles: 1, filesTotal: byHour.size + 2 });
    expect(progress.at(-1)).toMatchObject({ files: byHour.size + 2, rows: 31 });
    expect(problems.some((p) => p.includes(".n1.2.jsonl.gz"))).toBe(true);

    const after = await allRows(uids);
    expect(after).toHaveLength(uids.length);
    // The verdicts recorded live survive the re-scoring (the archived lines do not carry them).
    expect(liveRows.map((r) => r.is_verified)).toEqual(after.map((r) => r.is_verified));
    expect(new Set(after.map((r) => r.is_verified))).toEqual(new Set(["t", "f", "u"]));
    const flags = await rowsFor(db, uids);
    for (const s of stored) expect(flags.get(s.uid), s.verdict).toMatchObject(expected[s.verdict]);
    // Same rows as live, except the fingerprint-driven scores.
    after.forEach((row, i) => {
      const before = liveRows[i]!;
      const verdict = stored.find((s) => s.uid === row.measurement_uid)!.verdict;
      if (verdict === "confirmed") {
        expect({ ...row, scores: "", anomaly: "", confirmed: "" }).toEqual({ ...before, scores: "", anomaly: "", confirmed: "" });
      } else {
        expect(row).toEqual(before);
      }
    });
    const [counts] = await queryRows<{ final: number; distinct: number }>(
      db,
      "SELECT (SELECT count() FROM fastpath FINAL) AS final, (SELECT uniqExact(measurement_uid) FROM fastpath) AS distinct",
    );
    expect(Number(counts!.final)).toBe(Number(counts!.distinct));
    expect((await rowsFor(db, [upstreamUid])).get(upstreamUid)).toMatchObject({ ...expected.dns, report_id: "upstream-report" });
  });

  it("nothing to do under an empty prefix", async () => {
    const summary = await reprocess(
      { blobs, store: new FastpathStore(db) },
      { prefixes: ["raw/19990101/"], batchRows: 10, workers: 1, semantics: "fastpath" },
    );
    expect(summary).toMatchObject({ filesTotal: 0, rows: 0, aborted: false });
  });

  it("turns a date range into day prefixes (until exclusive) and checks arguments", () => {
    expect(dayPrefixes(new Date("2024-02-28T00:00:00Z"), new Date("2024-03-02T00:00:00Z"))).toEqual([
      "raw/20240228/",
      "raw/20240229/",
      "raw/20240301/",
    ]);
    expect(reprocessPrefixes(["--since", "2024-01-01", "--until", "2024-01-02"])).toEqual({ prefixes: ["raw/20240101/"], batchRows: 10_000 });
    expect(reprocessPrefixes(["--prefix", "raw/2024", "--prefix", "raw/2023"]).prefixes).toEqual(["raw/2024", "raw/2023"]);
    expect(() => reprocessPrefixes(["--since", "2024-02-30"])).toThrow(/YYYY-MM-DD/);
    expect(() => reprocessPrefixes(["--since", "2024-01-02", "--until", "2024-01-01"])).toThrow(/after/);
    expect(() => reprocessPrefixes(["--prefix", "raw/../x"])).toThrow();
    expect(() => reprocessPrefixes(["--prefix", "raw/", "--since", "2024-01-01"])).toThrow(/either/);
    expect(() => reprocessPrefixes([])).toThrow(/--since/);
  });
});
