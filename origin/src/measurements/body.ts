import { queryRows } from "../db/clickhouse";
import { measurementBytes, PostBodyError } from "../archive/post-body";
import { readLine, readMember } from "../archive/jsonl-member";
import type { Services } from "../services";

// A measurement body by measurement_uid: the exact bytes the probe submitted (the envelope's
// `content`, see archive/post-body.ts). Fresh measurements are read from the local spool (one
// open: the uid names its file); archived ones through their jsonl row, with a single ranged
// read of their own gzip member (archive/jsonl-member.ts).

export interface MeasurementBody {
  bytes: Buffer;
  source: "spool" | "archive";
  /** Bytes read from the blob store (0 from the spool): what direct access saves. */
  blobBytesRead: number;
}

interface JsonlLocation {
  s3path: string;
  linenum: number;
  byte_offset: number;
  byte_length: number;
}

/** Where the archive holds a measurement; the newest row wins (a re-run replaces older ones). */
export async function archiveLocation(services: Services, uid: string): Promise<JsonlLocation | null> {
  const rows = await queryRows<JsonlLocation>(
    services.db,
    `SELECT s3path, linenum, byte_offset, byte_length FROM jsonl
     WHERE measurement_uid = {uid:String} ORDER BY update_time DESC LIMIT 1`,
    { uid },
  );
  return rows[0] ?? null;
}

async function fromSpool(services: Services, uid: string): Promise<MeasurementBody | null> {
  const found = await services.spool.find(uid);
  if (!found) return null;
  try {
    return { bytes: measurementBytes(found.data), source: "spool", blobBytesRead: 0 };
  } catch (err) {
    if (!(err instanceof PostBodyError)) throw err;
    services.log.warn({ measurement_uid: uid, err: err.message }, "spool file is not a measurement envelope");
    return null;
  }
}

async function fromArchive(services: Services, uid: string): Promise<MeasurementBody | null> {
  const loc = await archiveLocation(services, uid);
  if (!loc) return null;
  // Bounded like a submission: nothing larger was ever accepted.
  const max = services.config.maxSubmissionBytes;
  if (loc.byte_length > 0) {
    const member = await services.blobs.get(loc.s3path, { offset: loc.byte_offset, length: loc.byte_length });
    if (!member || member.length !== loc.byte_length) {
      services.log.error({ measurement_uid: uid, s3path: loc.s3path }, "archived measurement missing from the blob store");
      return null;
    }
    return { bytes: await readMember(member, max), source: "archive", blobBytesRead: member.length };
  }
  // Rows without offsets (imported from the legacy archive): the whole file, then the line.
  const file = await services.blobs.get(loc.s3path);
  if (!file) {
    services.log.error({ measurement_uid: uid, s3path: loc.s3path }, "archived measurement missing from the blob store");
    return null;
  }
  const line = await readLine(file, loc.linenum, max);
  return line ? { bytes: line, source: "archive", blobBytesRead: file.length } : null;
}

export async function findMeasurementBody(services: Services, uid: string): Promise<MeasurementBody | null> {
  // Spool first: a fresh measurement is only there, and an archived one is deleted from the spool
  // only after its jsonl row exists, so between the two lookups nothing can slip through.
  return (await fromSpool(services, uid)) ?? (await fromArchive(services, uid));
}
