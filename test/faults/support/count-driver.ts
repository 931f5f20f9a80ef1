// The final count of a fault test, in its own process: embedded chDB binds one data directory per
// process, and each fault test ends with its own. Settings come from the environment (DATA_DIR,
// BLOB_STORE, S3_*), as for the origin that produced the state; the origin must be stopped.
//   count-driver.ts ACKED_FILE   ACKED_FILE: JSON [{uid, sha256}] of every acknowledged measurement
// Prints `RESULT <json>` (a StoredCount) as the last stdout line.
// Besides "is every acknowledged uid stored", it counts by content: a measurement stored under two
// uids (a retry whose first write succeeded but whose 200 was lost) is one measurement twice. And by
// measurement, report_id left out: a retry stored under a report id the server made up afresh has
// other bytes, but it is still the same measurement twice (`measurementDuplicates`).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { createBlobStore } from "../../../origin/src/blobstore";
import { loadConfig } from "../../../origin/src/config";
import { openDatabase, queryRows } from "../../../origin/src/db/clickhouse";
import { parsePostFile } from "../../../origin/src/intake/post-file";
import { Spool } from "../../../origin/src/intake/spool";
import type { StoredCount } from "./stored";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The measurement a .post file holds, whatever report id it was stored under. */
function measurementKey(bytes: Uint8Array): string {
  try {
    const { measurement } = parsePostFile(bytes);
    return sha256(Buffer.from(JSON.stringify({ ...measurement, report_id: null })));
  } catch {
    return sha256(bytes);
  }
}

/** sha256 of the bytes → the uids that hold them. */
function addContent(byContent: Map<string, Set<string>>, sha: string, uid: string) {
  const uids = byContent.get(sha) ?? new Set<string>();
  uids.add(uid);
  byContent.set(sha, uids);
}

/** uid → sha256 of each occurrence, for every `<hourdir>/<uid>.post` member of every postcan. */
async function postcanMembers(tarGz: Uint8Array, into: Map<string, string[]>, byMeasurement: Map<string, Set<string>>): Promise<void> {
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => void chunks.push(c as Buffer));
      stream.on("end", () => {
        const m = /\/([^/]+)\.post$/.exec(header.name);
        if (m) {
          const data = Buffer.concat(chunks);
          into.set(m[1]!, [...(into.get(m[1]!) ?? []), sha256(data)]);
          addContent(byMeasurement, measurementKey(data), m[1]!);
        }
        next();
      });
      stream.on("error", reject);
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  const gunzip = createGunzip();
  gunzip.on("error", (err) => ex.destroy(err));
  gunzip.pipe(ex);
  gunzip.end(Buffer.from(tarGz));
  await done;
}

async function main() {
  const acked = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { uid: string; sha256: string }[];
  const config = loadConfig();
  const spool = await Spool.open(config.spoolDir);
  const blobs = createBlobStore(config.blobStore);
  const db = openDatabase(config.clickhouse);
  try {
    // The archive: every postcan member, so a measurement archived twice shows up.
    const archive = new Map<string, string[]>();
    const byMeasurement = new Map<string, Set<string>>();
    let postcans = 0;
    for await (const info of blobs.list("raw/")) {
      if (!info.key.endsWith(".tar.gz")) continue;
      postcans++;
      const data = await blobs.get(info.key);
      if (!data) throw new Error(`listed but absent: ${info.key}`);
      await postcanMembers(data, archive, byMeasurement);
    }
    let archiveDuplicates = 0;
    for (const shas of archive.values()) archiveDuplicates += shas.length - 1;

    // Every stored measurement by content, spool and archive together (a uid in both counts once).
    const byContent = new Map<string, Set<string>>();
    for (const [uid, shas] of archive) for (const sha of shas) addContent(byContent, sha, uid);
    for (const hourDir of await spool.listHourDirs()) {
      for (const uid of await spool.listFiles(hourDir)) {
        const data = await spool.read(hourDir, uid);
        if (data) {
          addContent(byContent, sha256(data), uid);
          addContent(byMeasurement, measurementKey(data), uid);
        }
      }
    }
    let retryDuplicates = 0;
    for (const uids of byContent.values()) retryDuplicates += uids.size - 1;
    let measurementDuplicates = 0;
    for (const uids of byMeasurement.values()) measurementDuplicates += uids.size - 1;

    // The fastpath table, raw (no FINAL): a second row for a uid is a duplicate, merged or not.
    const [totals] = await queryRows<{ raw: number; distinct: number }>(
      db,
      "SELECT count() AS raw, uniqExact(measurement_uid) AS distinct FROM fastpath",
    );
    const rows = new Map<string, number>();
    const uids = acked.map((a) => a.uid);
    for (let i = 0; i < uids.length; i += 2000) {
      const found = await queryRows<{ uid: string; n: number }>(
        db,
        "SELECT measurement_uid AS uid, count() AS n FROM fastpath WHERE measurement_uid IN {uids:Array(String)} GROUP BY uid",
        { uids: uids.slice(i, i + 2000) },
      );
      for (const r of found) rows.set(r.uid, Number(r.n));
    }

    let inSpool = 0;
    let inArchive = 0;
    let withRow = 0;
    let stored = 0;
    const missing: string[] = [];
    for (const a of acked) {
      const file = await spool.find(a.uid);
      const spoolOk = file !== null && sha256(file.data) === a.sha256;
      const archiveOk = (archive.get(a.uid) ?? []).includes(a.sha256);
      const rowOk = (rows.get(a.uid) ?? 0) >= 1;
      if (spoolOk) inSpool++;
      if (archiveOk) inArchive++;
      if (rowOk) withRow++;
      if ((spoolOk || archiveOk) && rowOk) stored++;
      else if (missing.length < 10) missing.push(`${a.uid} (spool ${file ? (spoolOk ? "ok" : "differs") : "absent"}, archive ${archiveOk}, row ${rowOk})`);
    }
    const rawRows = Number(totals?.raw ?? 0);
    const distinctRows = Number(totals?.distinct ?? 0);
    const result: StoredCount = {
      acknowledged: acked.length,
      stored,
      duplicates: rawRows - distinctRows + archiveDuplicates,
      inSpool,
      inArchive,
      withRow,
      rawRows,
      distinctRows,
      archiveDuplicates,
      storedContents: byContent.size,
      acknowledgedContents: new Set(acked.map((a) => a.sha256)).size,
      retryDuplicates,
      measurementDuplicates,
      archivedMeasurements: archive.size,
      postcans,
      missing,
    };
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await db.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`count driver failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
