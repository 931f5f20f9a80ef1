import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { report } from "../../support/reliability";
import { result, run } from "../../origin/archive/crash-suite";
import type { Ack } from "./probes";

// "Stored" for the fault suites: an acknowledged uid whose bytes are in the spool or in a postcan
// (byte-identical) AND that has a row in the fastpath table. "Duplicates": fastpath rows (raw, no
// FINAL) beyond one per uid, plus postcan members beyond one per uid. "Retry duplicates": stored
// measurements (spool and archive, by content) held under more than one uid. Counted by count-driver.ts in
// its own process, after the origin has stopped (embedded chDB: one process per data directory).

export interface StoredCount {
  acknowledged: number;
  stored: number;
  duplicates: number;
  inSpool: number;
  inArchive: number;
  withRow: number;
  rawRows: number;
  distinctRows: number;
  archiveDuplicates: number;
  /** Distinct contents (sha256) in the spool and the archive, and among the acknowledged measurements. */
  storedContents: number;
  acknowledgedContents: number;
  /** Uids beyond the first for one content: the same measurement stored again under a new uid. */
  retryDuplicates: number;
  /** Uids beyond the first for one measurement, its report_id left out (a retry under a new report id). */
  measurementDuplicates: number;
  archivedMeasurements: number;
  postcans: number;
  /** The first few acknowledged uids that are not stored, and why. */
  missing: string[];
}

const DRIVER = path.join(import.meta.dirname, "count-driver.ts");

export async function countStored(env: Record<string, string>, acked: Iterable<Ack>): Promise<StoredCount> {
  const tmp = mkdtempSync(path.join(tmpdir(), "faults-count-"));
  try {
    const file = path.join(tmp, "acked.json");
    const list = [...acked].map((a) => ({ uid: a.uid, sha256: createHash("sha256").update(a.stored).digest("hex") }));
    writeFileSync(file, JSON.stringify(list));
    const r = await run(DRIVER, [file], env);
    if (r.code !== 0) throw new Error(`count driver exited ${r.code ?? r.signal}:\n${r.stderr}`);
    return result<StoredCount>(r);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Prints the `[reliability]` line and asserts nothing acknowledged was lost or duplicated. */
export function expectNothingLost(suite: string, scenario: string, c: StoredCount, extra: Record<string, number | string | boolean> = {}) {
  report(suite, scenario, {
    acknowledged: c.acknowledged,
    stored: c.stored,
    duplicates: c.duplicates,
    in_spool: c.inSpool,
    in_archive: c.inArchive,
    fastpath_raw_rows: c.rawRows,
    fastpath_uids: c.distinctRows,
    archive_duplicates: c.archiveDuplicates,
    retry_duplicates: c.retryDuplicates,
    measurement_duplicates: c.measurementDuplicates,
    ...extra,
  });
  expect(c.missing, "acknowledged but not stored").toEqual([]);
  expect(c.stored).toBe(c.acknowledged);
  expect(c.duplicates).toBe(0);
}
