import type { Database } from "../db/clickhouse";
import { ensureScored as pipelineEnsureScored } from "../fastpath/pipeline";
import type { Services } from "../services";

// The uploader deletes spool files only once every measurement in them has its fastpath row, so no
// measurement leaves the spool unscored. Scoring is the fastpath pipeline's job: its ensureScored
// scores whatever is missing (with the running pipeline's threads, or in this thread in a CLI
// process). The uploader then checks the rows itself: deleting a measurement's only local copy
// is what this guards, so it trusts the table, not a return value.

/** Resolves once every uid has a row or can never have one (not a measurement); throws otherwise. */
export type EnsureScored = (services: Services, hourDir: string, uids: string[]) => Promise<void>;

export class NotScoredError extends Error {
  override readonly name = "NotScoredError";
  constructor(readonly missing: string[]) {
    super(`${missing.length} measurement(s) have no fastpath row yet, e.g. ${missing[0]}`);
  }
}

const CHUNK = 5000;

/** The uids (of those given) that have no fastpath row. */
export async function unscored(db: Database, uids: readonly string[]): Promise<string[]> {
  const have = new Set<string>();
  for (let i = 0; i < uids.length; i += CHUNK) {
    const r = await db.client.query({
      query: "SELECT DISTINCT measurement_uid FROM fastpath WHERE measurement_uid IN {uids:Array(String)}",
      query_params: { uids: uids.slice(i, i + CHUNK) },
      format: "JSONEachRow",
    });
    for (const row of await r.json<{ measurement_uid: string }>()) have.add(row.measurement_uid);
  }
  return uids.filter((u) => !have.has(u));
}

export const ensureScored: EnsureScored = async (services, hourDir, uids) => {
  if (uids.length === 0) return;
  const result = await pipelineEnsureScored(services, hourDir, uids);
  // Files the fastpath cannot read as measurements will never have a row: the postcan keeps them.
  const unreadable = new Set(result.unreadable);
  const missing = (await unscored(services.db, uids)).filter((u) => !unreadable.has(u));
  if (missing.length) throw new NotScoredError(missing);
};
