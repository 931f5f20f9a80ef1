import { parseArgs } from "node:util";
import type { CommandOutput, ServicesCommand } from "../commands/types";
import { queryRows, type Database } from "../db/clickhouse";
import { runWebAnalysis } from "./store";

// `analysis reprocess --since D [--until D] [--probe-cc CC,…]`: rebuilds analysis_web_measurement
// from the stored observations, one day at a time as upstream's daily batch ((day, next day]). The
// live pipeline analyses each measurement with the ground truth stored so far; a reprocess, run
// once the day is over, sees the whole day's control observations, as upstream does (the rows
// replace the live ones: ReplacingMergeTree, keyed by measurement). Also what to run after a rule
// change (RULES_VERSION). Observations themselves come from `fastpath reprocess`, which writes them
// beside the fastpath rows.

export const ANALYSIS_USAGE = "analysis reprocess --since YYYY-MM-DD [--until YYYY-MM-DD] [--probe-cc CC[,CC…]]";

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

function day(v: string, what: string): Date {
  const d = new Date(`${v}T00:00:00Z`);
  if (!DAY_RE.test(v) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) throw new Error(`${what} must be a date YYYY-MM-DD`);
  return d;
}

const chDay = (d: Date) => `${d.toISOString().slice(0, 10)} 00:00:00.000`;

export interface AnalysisProgress {
  days: number;
  daysTotal: number;
  rows: number;
  elapsedMs: number;
}

export function formatAnalysisProgress(p: AnalysisProgress): string {
  const frac = p.daysTotal > 0 ? p.days / p.daysTotal : 1;
  const width = 24;
  const filled = Math.round(frac * width);
  const eta = p.days > 0 ? ((p.elapsedMs / p.days) * (p.daysTotal - p.days)) / 1000 : 0;
  return (
    `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
    `${p.days}/${p.daysTotal} days · ${p.rows.toLocaleString("en")} measurements analysed · ${(p.elapsedMs / 1000).toFixed(1)} s` +
    (p.days < p.daysTotal && p.days > 0 ? ` · ~${eta.toFixed(0)} s left` : "")
  );
}

/** Rebuilds the analysis of [since, until), day by day; `onProgress` after the start and each day. */
export async function reprocessAnalysisDays(
  db: Database,
  since: Date,
  until: Date,
  probeCc: string[],
  signal: AbortSignal,
  onProgress: (p: AnalysisProgress) => void = () => {},
): Promise<AnalysisProgress> {
  const t0 = Date.now();
  const p: AnalysisProgress = { days: 0, daysTotal: Math.round((until.getTime() - since.getTime()) / 86_400_000), rows: 0, elapsedMs: 0 };
  const show = () => {
    p.elapsedMs = Date.now() - t0;
    onProgress(p);
  };
  show();
  for (let d = since; d < until; d = new Date(d.getTime() + 86_400_000)) {
    if (signal.aborted) break;
    const scope = { since: chDay(d), until: chDay(new Date(d.getTime() + 86_400_000)), probeCc };
    await runWebAnalysis(db, scope);
    const [n] = await queryRows<{ n: string }>(
      db,
      `SELECT count() AS n FROM (SELECT DISTINCT measurement_uid FROM obs_web
        WHERE measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')}
        AND test_name = 'web_connectivity'${probeCc.length ? " AND probe_cc IN {probe_cc:Array(String)}" : ""})`,
      probeCc.length ? { since: scope.since, until: scope.until, probe_cc: probeCc } : { since: scope.since, until: scope.until },
    );
    p.rows += Number(n?.n ?? 0);
    p.days++;
    show();
  }
  return p;
}

export const analysisCommand: ServicesCommand = {
  summary: "rebuild the web analysis (LoNI) of a date range from the stored observations",
  usage: ANALYSIS_USAGE,
  needsServices: true,
  async runWith(services, args, io: CommandOutput, signal): Promise<number> {
    let since: Date, until: Date, probeCc: string[];
    try {
      const [sub, ...rest] = args;
      if (sub !== "reprocess") throw new Error("unknown subcommand");
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { since: { type: "string" }, until: { type: "string" }, "probe-cc": { type: "string" } },
      });
      if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
      if (!values.since) throw new Error("--since is required");
      since = day(values.since, "--since");
      until = values.until ? day(values.until, "--until") : new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1));
      if (until <= since) throw new Error("--until must be after --since (it is exclusive)");
      if (until.getTime() - since.getTime() > 20 * 366 * 86_400_000) throw new Error("date range longer than 20 years");
      probeCc = (values["probe-cc"] ?? "").split(",").filter((c) => c !== "");
      for (const cc of probeCc) if (!/^[A-Z]{2}$/.test(cc)) throw new Error(`--probe-cc: ${JSON.stringify(cc)} is not a country code`);
    } catch (err) {
      io.err(`error: ${(err as Error).message}\nusage: npm run cli -- ${ANALYSIS_USAGE}\n`);
      return 2;
    }
    const t0 = Date.now();
    let lastPlain = 0;
    const p = await reprocessAnalysisDays(services.db, since, until, probeCc, signal, (progress) => {
      if (io.interactive) io.out(`\r${formatAnalysisProgress(progress)}`);
      else if (Date.now() - lastPlain >= 2000 || progress.days === progress.daysTotal) {
        lastPlain = Date.now();
        io.out(`${formatAnalysisProgress(progress)}\n`);
      }
    });
    if (io.interactive) io.out("\n");
    io.out(`${signal.aborted ? "interrupted" : "done"}: ${p.days}/${p.daysTotal} days, ${p.rows} measurements analysed, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return signal.aborted ? 130 : 0;
  },
};
