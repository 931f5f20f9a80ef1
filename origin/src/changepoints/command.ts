import { parseArgs } from "node:util";
import type { CommandOutput, ServicesCommand } from "../commands/types";
import { parseInstant } from "../stats/params";
import { runDetectorRange } from "./run";

// `analysis changepoints [--start T] [--end T] [--probe-cc CC,…]`: runs the changepoint detector
// over a range, in 10-day windows, each starting from the state stored before it (upstream's
// `oonipipeline event_detector`). Defaults as upstream: from 14 days ago to tomorrow (midnight UTC).
// Re-running a range replaces its rows (docs/changepoints.md).

export const CHANGEPOINTS_USAGE = "analysis changepoints [--start YYYY-MM-DD[THH:MM]] [--end YYYY-MM-DD[THH:MM]] [--probe-cc CC[,CC…]]";

function instant(v: string, what: string): Date {
  const d = parseInstant(v);
  if (!d) throw new Error(`${what} must be a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][Z])`);
  return d;
}

const midnight = (daysFromToday: number, now = new Date()) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + daysFromToday));

export async function runChangepointsCommand(services: Parameters<ServicesCommand["runWith"]>[0], args: string[], io: CommandOutput, signal: AbortSignal): Promise<number> {
  let start: Date, end: Date, probeCc: string[];
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { start: { type: "string" }, end: { type: "string" }, "probe-cc": { type: "string" } },
    });
    if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
    start = values.start ? instant(values.start, "--start") : midnight(-14);
    end = values.end ? instant(values.end, "--end") : midnight(1);
    if (end <= start) throw new Error("--end must be after --start");
    if (end.getTime() - start.getTime() > 5 * 366 * 86_400_000) throw new Error("range longer than 5 years");
    probeCc = (values["probe-cc"] ?? "").split(",").filter((c) => c !== "");
    for (const cc of probeCc) if (!/^[A-Z]{2}$/.test(cc)) throw new Error(`--probe-cc: ${JSON.stringify(cc)} is not a country code`);
  } catch (err) {
    io.err(`error: ${(err as Error).message}\nusage: npm run cli -- ${CHANGEPOINTS_USAGE}\n`);
    return 2;
  }
  const t0 = Date.now();
  const s = await runDetectorRange(services.db, start, end, probeCc, signal, (done, total, sum) => {
    io.out(`window ${done}/${total}: ${sum.series} series, ${sum.changepoints} changepoints so far\n`);
  });
  io.out(
    `${signal.aborted ? "interrupted" : "done"}: ${start.toISOString()} → ${end.toISOString()}, ${s.windows} windows, ` +
      `${s.series} series, ${s.changepoints} changepoints, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return signal.aborted ? 130 : 0;
}

/** The `analysis` command with `changepoints` beside its own subcommands. */
export function withChangepoints(base: ServicesCommand): ServicesCommand {
  return {
    ...base,
    usage: `${base.usage} | ${CHANGEPOINTS_USAGE}`,
    async runWith(services, args, io, signal) {
      if (args[0] === "changepoints") return runChangepointsCommand(services, args.slice(1), io, signal);
      return base.runWith(services, args, io, signal);
    },
  };
}
