import type { Database } from "../db/clickhouse";
import type { Services } from "../services";

// The uploader deletes spool files only once every measurement in them has its fastpath row, so no
// measurement leaves the spool unscored. Scoring is the fastpath pipeline's job: its
// `ensureScored(services, hourDir, uids)` (origin/src/fastpath/pipeline/index.ts) scores whatever
// is missing. This adapter calls it when that module exists; without it, it only checks that the
// rows are there and refuses (throws) otherwise, so the spool files stay until they are scored.

export type EnsureScored = (services: Services, hourDir: string, uids: string[]) => Promise<void>;

export class NotScoredError extends Error {
  override readonly name = "NotScoredError";
  constructor(readonly missing: string[]) {
    super(`${missing.length} measurement(s) have no fastpath row yet, e.g. ${missing[0]}`);
  }
}

// A variable specifier: the type checker does not require the module, and the import fails
// cleanly at run time while the pipeline does not exist.
const PIPELINE_MODULE = "../fastpath/pipeline/index";

let pipeline: Promise<EnsureScored | null> | null = null;

function loadPipeline(): Promise<EnsureScored | null> {
  pipeline ??= (import(/* @vite-ignore */ PIPELINE_MODULE) as Promise<{ ensureScored?: unknown }>).then(
    (mod) => (typeof mod.ensureScored === "function" ? (mod.ensureScored as EnsureScored) : null),
    () => null,
  );
  return pipeline;
}

const CHUNK = 5000;

/** The uids (of those given) that have no fastpath row. */
export async function unscored(db: Database, uids: string[]): Promise<string[]> {
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
  const fromPipeline = await loadPipeline();
  if (fromPipeline) await fromPipeline(services, hourDir, uids);
  // Checked in both cases: deleting an unscored measurement's only local copy is what this guards.
  const missing = await unscored(services.db, uids);
  if (missing.length) throw new NotScoredError(missing);
};
