import type { Database } from "../db/clickhouse";
import { analysisInsertSql, type AnalysisScope } from "./query";

// Running the web analysis: the statement is parameterized ({name:Type}) like every other query.

export async function runWebAnalysis(db: Database, scope: AnalysisScope): Promise<void> {
  const params: Record<string, unknown> = { since: scope.since, until: scope.until };
  if (scope.reports) params.reports = scope.reports;
  if (scope.uids) params.uids = scope.uids;
  if (scope.probeCc?.length) params.probe_cc = scope.probeCc;
  await db.client.command({ query: analysisInsertSql(scope), query_params: params });
}

/** Day windows (upstream's batch: start exclusive, end inclusive) that cover these start times. */
export function dayWindows(startTimes: readonly string[]): { since: string; until: string; day: string }[] {
  const days = new Set<string>();
  for (const t of startTimes) {
    // "YYYY-MM-DD 00:00:00.000" exactly belongs to the previous day's window.
    const d = new Date(`${t.replace(" ", "T")}Z`);
    if (t.endsWith(" 00:00:00.000")) d.setUTCDate(d.getUTCDate() - 1);
    days.add(d.toISOString().slice(0, 10));
  }
  return [...days].sort().map((day) => {
    const next = new Date(`${day}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    return { day, since: `${day} 00:00:00.000`, until: `${next.toISOString().slice(0, 10)} 00:00:00.000` };
  });
}
