import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../logger";
import { inputAndDomain } from "../fastpath/row";
import { parseMeasurementUid } from "../intake/measurement-uid";
import type { Spool } from "../intake/spool";
import type { Journal } from "./journal";
import { gzipMember, jsonlLine } from "./jsonl-member";
import { archiveKey, hourDirDate, type ArchiveKind } from "./keys";
import { PostcanWriter } from "./postcan";
import { readPost } from "./post-body";

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

/**
 * One postcan/JSONL pair. Each measurement is prepared as soon as it is read, and both its tar
 * entry and its JSONL member start compressing at once (libuv's thread pool), so compression runs
 * alongside the reading and parsing of the next files.
 */
class GroupBuilder {
  private readonly can = new PostcanWriter();
  private readonly indexed: { uid: string; reportId: string; input: string; member: Promise<Buffer> }[] = [];
  readonly unindexed: string[] = [];
  bytes = 0;

  constructor(
    private readonly journal: Journal,
    private readonly n: number,
    private readonly workDir: string,
    private readonly log: Logger,
  ) {}

  add(uid: string, data: Buffer): void {
    this.bytes += data.length;
    this.can.add({ name: `${this.journal.hourDir}/${uid}.post`, data, mtime: parseMeasurementUid(uid)!.receivedAt });
    try {
      const { bytes, reportId, measurement } = readPost(data);
      const member = gzipMember(jsonlLine(bytes));
      member.catch(() => {}); // awaited in finish(); never unhandled meanwhile
      this.indexed.push({ uid, reportId: reportId ?? "", input: inputAndDomain(measurement).input, member });
    } catch (err) {
      this.log.warn({ measurement_uid: uid, err: (err as Error).message }, "spool file is not a measurement envelope: archived in the postcan only");
      this.unindexed.push(uid);
    }
  }

  async finish(): Promise<{ files: BuiltFile[]; rows: JsonlRow[] }> {
    const { hourDir, collectorId } = this.journal;
    const n = this.n;
    const [can, members] = await Promise.all([this.can.finish(), Promise.all(this.indexed.map((m) => m.member))]);
    const files: BuiltFile[] = [];
    const canFile = path.join(this.workDir, `${n}.tar.gz`);
    await writeFile(canFile, can);
    files.push({ key: archiveKey(hourDir, collectorId, n, "tar.gz"), kind: "tar.gz", file: canFile, size: can.length });

    const rows: JsonlRow[] = [];
    if (members.length) {
      const jsonlKey = archiveKey(hourDir, collectorId, n, "jsonl.gz");
      const date = hourDirDate(hourDir);
      let offset = 0;
      for (const [linenum, m] of this.indexed.entries()) {
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
      const jsonlFile = path.join(this.workDir, `${n}.jsonl.gz`);
      await writeFile(jsonlFile, jsonl);
      files.push({ key: jsonlKey, kind: "jsonl.gz", file: jsonlFile, size: jsonl.length });
    }
    return { files, rows };
  }
}

export async function buildArchive(spool: Spool, journal: Journal, workDir: string, log: Logger, signal?: AbortSignal): Promise<BuildResult> {
  // Never trust files from an interrupted attempt: start from an empty work directory.
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const result: BuildResult = { files: [], rows: [], unindexed: [], inputBytes: 0 };
  let n = journal.firstN;
  let group: GroupBuilder | null = null;
  // The previous group finishes (compresses, writes) while the next one is being filled; at most
  // two groups are in memory.
  let finishing: Promise<void> = Promise.resolve();
  let older: Promise<void> = Promise.resolve();
  const flush = (g: GroupBuilder) => {
    const prev = finishing;
    older = prev;
    finishing = g.finish().then(async (built) => {
      await prev; // results in file order
      result.files.push(...built.files);
      result.rows.push(...built.rows);
      result.unindexed.push(...g.unindexed);
    });
    finishing.catch(() => {}); // awaited below; never unhandled meanwhile
  };
  for await (const { uid, data } of readAll(spool, journal.hourDir, journal.uids)) {
    signal?.throwIfAborted();
    if (!group) {
      await older;
      group = new GroupBuilder(journal, n++, workDir, log);
    }
    group.add(uid, data);
    result.inputBytes += data.length;
    // A new can starts once the current one holds canMaxBytes of .post files.
    if (group.bytes >= journal.canMaxBytes) {
      flush(group);
      group = null;
    }
  }
  if (group) flush(group);
  await finishing;
  return result;
}
