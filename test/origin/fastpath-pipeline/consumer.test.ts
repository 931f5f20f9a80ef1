import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { ensureScored, loadFingerprintSet, startFastpath } from "../../../origin/src/fastpath/pipeline";
import { scoreItem } from "../../../origin/src/fastpath/pipeline/score-item";
import { FastpathStore } from "../../../origin/src/fastpath/pipeline/store";
import { parseMeasurementUid } from "../../../origin/src/intake/measurement-uid";
import { envelopeAroundMeasurementText } from "../../../origin/src/intake/post-file";
import { Spool } from "../../../origin/src/intake/spool";
import { useTempDb } from "../../support/temp-db";
import {
  REPORT_ID,
  blockpageFingerprint,
  countRows,
  eventually,
  expected,
  pipelineConfig,
  rowsFor,
  silent,
  spoolBytes,
  spoolMeasurement,
  webConnectivity,
  type Verdict,
} from "./helpers";

// The live pipeline in this process: a real spool, real scoring threads, embedded ClickHouse.

let db: Database;
const tmpDir = useTempDb("consumer", (d) => (db = d));

async function freshSpool(name: string): Promise<Spool> {
  return Spool.open(path.join(tmpDir, name));
}

describe("fastpath pipeline (in process)", () => {
  it("scores measurements as they arrive, with the right flags, and replaces rather than duplicates", async () => {
    const store = new FastpathStore(db);
    await store.replaceFingerprints({ dns: [blockpageFingerprint], http: [] });
    const spool = await freshSpool("spool-live");
    const fp = startFastpath({ config: pipelineConfig(), db, spool, log: silent });
    const uids = new Map<string, Verdict>();
    try {
      const verdicts: Verdict[] = ["ok", "dns", "confirmed", "failed"];
      for (let i = 0; i < 40; i++) {
        const v = verdicts[i % verdicts.length]!;
        uids.set(await spoolMeasurement(spool, webConnectivity(v, i)), v);
      }
      const rows = await eventually(async () => {
        const r = await rowsFor(db, [...uids.keys()]);
        return r.size === uids.size ? r : undefined;
      }, 30_000, "40 rows");
      for (const [uid, v] of uids) {
        expect(rows.get(uid), uid).toMatchObject({ ...expected[v], measurement_uid: uid });
        expect(rows.get(uid)!.report_id).toMatch(/^20240214T090617Z_webconnectivity_IT_30722_n1_/);
      }
      // ensureScored on measurements that have rows: nothing to do.
      const [first] = [...uids.keys()];
      const hourDir = parseMeasurementUid(first!)!.hourDir;
      const sameHour = [...uids.keys()].filter((u) => parseMeasurementUid(u)!.hourDir === hourDir);
      const r = await fp.ensureScored(hourDir, sameHour);
      expect(r).toEqual({ alreadyScored: sameHour.length, scored: 0, unreadable: [], missing: [] });
    } finally {
      await fp.stop();
    }
    // Scoring everything again (as a restart that lost its progress would) replaces rows.
    const store2 = new FastpathStore(db);
    const set = await loadFingerprintSet(store2, "fastpath");
    const before = await countRows(db);
    const newest = async () =>
      (await queryRows<{ t: string }>(db, "SELECT toString(min(update_time)) AS t FROM fastpath FINAL WHERE measurement_uid IN {u:Array(String)}", {
        u: [...uids.keys()],
      }))[0]!.t;
    const oldest = await newest();
    const rescored = [];
    for (const hourDir of await spool.listHourDirs()) {
      for (const uid of await spool.listFiles(hourDir)) {
        const r = scoreItem({ kind: "post", uid, data: (await spool.read(hourDir, uid))! }, set);
        if (r.ok) rescored.push(r.row);
      }
    }
    expect(rescored).toHaveLength(40);
    await store2.insertRows(rescored);
    const after = await countRows(db);
    expect(await newest() > oldest).toBe(true); // every row is the new one…
    expect(after.final).toBe(before.final); // …replacing the old
    expect(after.final).toBe(after.distinct);
  });

  it("after a restart scores what was stored while it was not running; skips unreadable files and ZZ ones", async () => {
    const spool = await freshSpool("spool-restart");
    const stored: string[] = [];
    for (let i = 0; i < 25; i++) stored.push(await spoolMeasurement(spool, webConnectivity("dns", 100 + i)));
    const junk = await spoolBytes(spool, Buffer.from("this is not JSON"));
    const notEnvelope = await spoolBytes(spool, Buffer.from('{"no":"content"}'));
    // Readable, but upstream's fastpath gives probe_cc ZZ no row: neither do we (nor retry it).
    const zz = await spoolBytes(spool, envelopeAroundMeasurementText(JSON.stringify({ ...webConnectivity("dns", 99), probe_cc: "ZZ" }), REPORT_ID));
    const fp = startFastpath({ config: pipelineConfig(), db, spool, log: silent });
    try {
      const rows = await eventually(async () => {
        const r = await rowsFor(db, stored);
        return r.size === stored.length ? r : undefined;
      }, 30_000, "rows for the stored measurements");
      for (const uid of stored) expect(rows.get(uid)).toMatchObject(expected.dns);
      await fp.idle();
      expect(fp.stats().unreadable).toBe(2);
      expect(fp.stats().excluded).toBe(1);
      expect((await rowsFor(db, [junk.uid, notEnvelope.uid, zz.uid])).size).toBe(0);
      // The uploader is told these will never have a row (and archives them anyway).
      const r = await fp.ensureScored(junk.hourDir, [junk.uid, notEnvelope.uid]);
      expect(r.scored).toBe(0);
      expect(r.unreadable.sort()).toEqual([junk.uid, notEnvelope.uid].sort());
      const rz = await fp.ensureScored(zz.hourDir, [zz.uid]);
      expect(rz).toMatchObject({ scored: 0, unreadable: [zz.uid] });
    } finally {
      await fp.stop();
    }
  });

  it("ClickHouse down: keeps measurements, bounded, and catches up once it is back", async () => {
    const spool = await freshSpool("spool-outage");
    const flag = path.join(tmpDir, "clickhouse-down");
    writeFileSync(flag, "");
    const fp = startFastpath({
      // A tiny bound so the outage overflows it: the overflow must be recovered by a scan.
      config: pipelineConfig({ faultClickhouseDownFile: flag, maxPending: 100, batchRows: 20 }),
      db,
      spool,
      log: silent,
    });
    try {
      const uids: string[] = [];
      for (let i = 0; i < 300; i++) uids.push(await spoolMeasurement(spool, webConnectivity("ok", 1000 + i)));
      // Fingerprints cannot be read either, so nothing is scored, and the consumer holds at most 100.
      await eventually(() => (fp.stats().dropped >= 200 ? true : undefined), 10_000, "notifications beyond the bound dropped");
      expect(fp.stats().pending).toBeLessThanOrEqual(100);
      expect(fp.stats().inserted).toBe(0);
      rmSync(flag);
      const rows = await eventually(async () => {
        const r = await rowsFor(db, uids);
        return r.size === uids.length ? r : undefined;
      }, 60_000, "all 300 rows after the outage");
      for (const uid of uids) expect(rows.get(uid)).toMatchObject(expected.ok);
    } finally {
      rmSync(flag, { force: true });
      await fp.stop();
    }
  });

  it("an INSERT outage after start: rows wait in memory and are retried", async () => {
    const spool = await freshSpool("spool-insert-outage");
    const flag = path.join(tmpDir, "clickhouse-down-2");
    const fp = startFastpath({ config: pipelineConfig({ faultClickhouseDownFile: flag }), db, spool, log: silent });
    try {
      const before = await spoolMeasurement(spool, webConnectivity("ok", 5000));
      await eventually(async () => ((await rowsFor(db, [before])).size === 1 ? true : undefined), 20_000, "first row");
      writeFileSync(flag, "");
      const during: string[] = [];
      for (let i = 0; i < 10; i++) during.push(await spoolMeasurement(spool, webConnectivity("dns", 5001 + i)));
      await eventually(() => (fp.stats().clickhouseFailing ? true : undefined), 10_000, "insert failing");
      // All ten wait in memory (scoring may still be finishing the last ones when the first insert fails).
      await eventually(() => (fp.stats().backlog === 10 ? true : undefined), 10_000, "all ten rows waiting");
      expect(fp.stats().clickhouseFailing).toBe(true);
      rmSync(flag);
      const rows = await eventually(async () => {
        const r = await rowsFor(db, during);
        return r.size === during.length ? r : undefined;
      }, 30_000, "rows after recovery");
      for (const uid of during) expect(rows.get(uid)).toMatchObject(expected.dns);
      expect(fp.stats().clickhouseFailing).toBe(false);
    } finally {
      rmSync(flag, { force: true });
      await fp.stop();
    }
  });

  it("picks up new fingerprints without a restart", async () => {
    const store = new FastpathStore(db);
    await store.replaceFingerprints({ dns: [], http: [] });
    const spool = await freshSpool("spool-reload");
    const fp = startFastpath({ config: pipelineConfig(), db, spool, log: silent });
    try {
      const a = await spoolMeasurement(spool, webConnectivity("confirmed", 7000));
      // With no fingerprints the block page answer matches nothing: not blocked.
      const before = await eventually(async () => (await rowsFor(db, [a])).get(a), 20_000, "row with no fingerprints");
      expect(before).toMatchObject(expected.ok);
      const version = fp.stats().fingerprints;
      await store.replaceFingerprints({ dns: [blockpageFingerprint], http: [] });
      await fp.reloadFingerprints();
      expect(fp.stats().fingerprints).not.toBe(version);
      const b = await spoolMeasurement(spool, webConnectivity("confirmed", 7001));
      const after = await eventually(async () => (await rowsFor(db, [b])).get(b), 20_000, "row with the fingerprint");
      expect(after).toMatchObject(expected.confirmed);
    } finally {
      await fp.stop();
    }
  });

  it("ensureScored without a running pipeline scores in the calling thread", async () => {
    const store = new FastpathStore(db);
    await store.replaceFingerprints({ dns: [blockpageFingerprint], http: [] });
    const spool = await freshSpool("spool-ensure");
    const uids = [
      await spoolMeasurement(spool, webConnectivity("confirmed", 8000)),
      await spoolMeasurement(spool, webConnectivity("failed", 8001)),
    ];
    const hourDir = parseMeasurementUid(uids[0]!)!.hourDir;
    const mine = uids.filter((u) => parseMeasurementUid(u)!.hourDir === hourDir);
    const services = { config: { fastpath: pipelineConfig() }, db, spool, fastpath: null };
    const r = await ensureScored(services, hourDir, [...mine, `${mine[0]!.slice(0, -16)}0000000000000000`]);
    expect(r.scored).toBe(mine.length);
    expect(r.missing).toHaveLength(1);
    const rows = await rowsFor(db, mine);
    expect(rows.get(uids[0]!)).toMatchObject(expected.confirmed);
    // A uid from another hour directory is refused, not looked up.
    await expect(ensureScored(services, "2020010100_IT_webconnectivity", mine)).rejects.toThrow(/not a spool entry/);
    // ClickHouse down: the uploader is told so (and keeps the files).
    const flag = path.join(tmpDir, "down-ensure");
    writeFileSync(flag, "");
    const down = { ...services, config: { fastpath: pipelineConfig({ faultClickhouseDownFile: flag }) } };
    await expect(ensureScored(down, hourDir, mine)).rejects.toThrow(/ClickHouse unavailable/);
    rmSync(flag);
  });

  it("ensureScored right after arrival and the live consumer never both score a measurement (one raw row each)", async () => {
    // Found by test/faults/uploader-crashes.test.ts: the uploader's guard ran while the consumer
    // still held fresh measurements, both scored them, and fastpath had two raw rows per uid.
    const spool = await freshSpool("spool-guard-race");
    const fp = startFastpath({ config: pipelineConfig({ flushMs: 300 }), db, spool, log: silent });
    const uids: string[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        const fresh: string[] = [];
        for (let i = 0; i < 40; i++) fresh.push(await spoolMeasurement(spool, webConnectivity("ok", 5000 + round * 100 + i)));
        uids.push(...fresh);
        for (const hourDir of new Set(fresh.map((u) => parseMeasurementUid(u)!.hourDir))) {
          await fp.ensureScored(hourDir, fresh.filter((u) => parseMeasurementUid(u)!.hourDir === hourDir));
        }
        fp.rescan(); // a scan racing the guard must not score them again either
      }
      await fp.idle();
      await new Promise((r) => setTimeout(r, 600));
      await fp.idle();
    } finally {
      await fp.stop();
    }
    const [c] = await queryRows<{ raw: number; distinct: number }>(
      db,
      "SELECT count() AS raw, uniqExact(measurement_uid) AS distinct FROM fastpath WHERE measurement_uid IN {uids:Array(String)}",
      { uids },
    );
    expect({ raw: Number(c!.raw), distinct: Number(c!.distinct) }).toEqual({ raw: uids.length, distinct: uids.length });
  });
});
