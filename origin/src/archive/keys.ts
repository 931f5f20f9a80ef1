import { HOUR_DIR_RE } from "../intake/measurement-uid";

// Archive layout, the one OONI researchers already use (backend-reference §6):
//   raw/{YYYYMMDD}/{HH}/{CC}/{testname}/{hourdir}.n{collector_id}.{N}.tar.gz    postcan
//   raw/{YYYYMMDD}/{HH}/{CC}/{testname}/{hourdir}.n{collector_id}.{N}.jsonl.gz  same measurements, JSONL
// N counts from 0 per hour directory and collector. Names depend only on the hour directory, the
// collector and N, so a repeated run writes the same keys (replacing, never duplicating).

export type ArchiveKind = "tar.gz" | "jsonl.gz";

export interface HourDirParts {
  hourDir: string;
  /** YYYYMMDD */
  day: string;
  /** HH */
  hour: string;
  cc: string;
  testName: string;
}

export function parseHourDir(hourDir: string): HourDirParts {
  if (!HOUR_DIR_RE.test(hourDir)) throw new Error(`not a spool hour directory: ${JSON.stringify(hourDir)}`);
  const [stamp, cc, ...rest] = hourDir.split("_") as [string, string, ...string[]];
  return { hourDir, day: stamp.slice(0, 8), hour: stamp.slice(8, 10), cc, testName: rest.join("_") };
}

/** The blob-store "folder" holding every archive file of one hour directory (all collectors). */
export function archiveDir(hourDir: string): string {
  const p = parseHourDir(hourDir);
  return `raw/${p.day}/${p.hour}/${p.cc}/${p.testName}/`;
}

/** Prefix of this collector's files for an hour directory: list it to find the numbers in use. */
export function archivePrefix(hourDir: string, collectorId: string): string {
  return `${archiveDir(hourDir)}${hourDir}.n${collectorId}.`;
}

export function archiveKey(hourDir: string, collectorId: string, n: number, kind: ArchiveKind): string {
  return `${archivePrefix(hourDir, collectorId)}${n}.${kind}`;
}

/** N of a key under archivePrefix(…), or null for any other name. */
export function archiveNumber(key: string, prefix: string): number | null {
  if (!key.startsWith(prefix)) return null;
  const m = /^(\d{1,9})\.(?:tar\.gz|jsonl\.gz)$/.exec(key.slice(prefix.length));
  return m ? Number(m[1]) : null;
}

/** The reception day of an hour directory as YYYY-MM-DD (the jsonl table's `date`). */
export function hourDirDate(hourDir: string): string {
  const { day } = parseHourDir(hourDir);
  return `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
}
