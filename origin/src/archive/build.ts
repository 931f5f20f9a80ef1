import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../logger";
import { inputAndDomain } from "../fastpath/row";
import { parseMeasurementUid } from "../intake/measurement-uid";
import { parsePostFile } from "../intake/post-file";
import type { Spool } from "../intake/spool";
import type { Journal } from "./journal";
import { gzipMember, jsonlLine } from "./jsonl-member";
import { archiveKey, hourDirDate, type ArchiveKind } from "./keys";
import { buildPostcan, type CanMember } from "./postcan";
import { measurementBytes } from "./post-body";

// Step "build": the postcans and JSONL files of one journal, written to the work directory, plus
// the jsonl-table rows that point into them. Everything here is a function of the journal and the
// spool files it names, so a repeated build gives identical bytes.

/** One row of the jsonl table (migrations.ts): where a measurement's line is. */
export interface JsonlRow {
  report_id: string;
  input: string;
  s3path: string;
  /** 0-based line in the JSONL file. */
  linenum: number;
  measurement_uid: string;
  date: string;
  source: string;
  /** Offset and length of the measurement's gzip member in the JSONL.gz file. */
  byte_offset: number;
  byte_length: number;
}

export interface BuiltFile {
  key: string;
  kind: ArchiveKind;
  file: string;
  size: number;
}

export interface BuildResult {
  files: BuiltFile[];
  rows: JsonlRow[];
  /** In a postcan but not in JSONL: the .post file is not a readable measurement envelope. */
  unindexed: string[];
  /** Total size of the .post files read. */
  inputBytes: number;
}

const READ_AHEAD = 16;

export class MissingSpoolFileError extends Error {
  override readonly name = "MissingSpoolFileError";
}

async function* readAll(spool: Spool, hourDir: string, uids: string[]): AsyncGenerator<{ uid: string; data: Buffer }> {
  for (let i = 0; i < uids.length; i += READ_AHEAD) {
    const batch = uids.slice(i, i + READ_AHEAD);
    const datas = await Promise.all(batch.map((uid) => spool.read(hourDir, uid)));
    for (const [j, uid] of batch.entries()) {
      const data = datas[j];
      // Only the uploader deletes spool files, and only after commit: a missing file means
      // something outside the uploader removed it, and the run cannot reproduce its archive.
      if (!data) throw new MissingSpoolFileError(`spool file vanished before it was archived: ${hourDir}/${uid}.post`);
      yield { uid, data };
    }
  }
}

async function writeGroup(
  journal: Journal,
  n: number,
  group: { uid: string; data: Buffer }[],
  workDir: string,
  log: Logger,
): Promise<{ files: BuiltFile[]; rows: JsonlRow[]; unindexed: string[] }> {
  const { hourDir, collectorId } = journal;
  const jsonlKey = archiveKey(hourDir, collectorId, n, "jsonl.gz");
  const canMembers: CanMember[] = group.map(({ uid, data }) => ({
    name: `${hourDir}/${uid}.post`,
    data,
    mtime: parseMeasurementUid(uid)!.receivedAt,
  }));
  const indexed: { uid: string; line: Buffer; reportId: string; input: string }[] = [];
  const unindexed: string[] = [];
  for (const { uid, data } of group) {
    try {
      const { reportId, measurement } = parsePostFile(data);
      indexed.push({ uid, line: jsonlLine(measurementBytes(data)), reportId: reportId ?? "", input: inputAndDomain(measurement).input });
    } catch (err) {
      log.warn({ measurement_uid: uid, err: (err as Error).message }, "spool file is not a measurement envelope: archived in the postcan only");
      unindexed.push(uid);
    }
  }
  // Both compress on libuv's thread pool, side by side.
  const [can, members] = await Promise.all([buildPostcan(canMembers), Promise.all(indexed.map((m) => gzipMember(m.line)))]);

  const files: BuiltFile[] = [];
  const canFile = path.join(workDir, `${n}.tar.gz`);
  await writeFile(canFile, can);
  files.push({ key: archiveKey(hourDir, collectorId, n, "tar.gz"), kind: "tar.gz", file: canFile, size: can.length });

  const rows: JsonlRow[] = [];
  if (members.length) {
    let offset = 0;
    const date = hourDirDate(hourDir);
    for (const [linenum, m] of indexed.entries()) {
      const member = members[linenum]!;
      rows.push({
        report_id: m.reportId,
        input: m.input,
        s3path: jsonlKey,
        linenum,
        measurement_uid: m.uid,
        date,
        source: `n${collectorId}`,
        byte_offset: offset,
        byte_length: member.length,
      });
      offset += member.length;
    }
    const jsonl = Buffer.concat(members);
    const jsonlFile = path.join(workDir, `${n}.jsonl.gz`);
    await writeFile(jsonlFile, jsonl);
    files.push({ key: jsonlKey, kind: "jsonl.gz", file: jsonlFile, size: jsonl.length });
  }
  return { files, rows, unindexed };
}

export async function buildArchive(spool: Spool, journal: Journal, workDir: string, log: Logger, signal?: AbortSignal): Promise<BuildResult> {
  // Never trust files from an interrupted attempt: start from an empty work directory.
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const result: BuildResult = { files: [], rows: [], unindexed: [], inputBytes: 0 };
  let n = journal.firstN;
  let group: { uid: string; data: Buffer }[] = [];
  let bytes = 0;
  const flush = async () => {
    const built = await writeGroup(journal, n++, group, workDir, log);
    result.files.push(...built.files);
    result.rows.push(...built.rows);
    result.unindexed.push(...built.unindexed);
    group = [];
    bytes = 0;
  };
  // A new can starts once the current one holds canMaxBytes of .post files; streamed, so only
  // one can's files are in memory at a time.
  for await (const item of readAll(spool, journal.hourDir, journal.uids)) {
    signal?.throwIfAborted();
    group.push(item);
    bytes += item.data.length;
    result.inputBytes += item.data.length;
    if (bytes >= journal.canMaxBytes) await flush();
  }
  if (group.length) await flush();
  return result;
}
