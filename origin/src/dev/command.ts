import { parseArgs } from "node:util";
import type { CommandOutput, ServicesCommand } from "../commands/types";
import { seedFastpath } from "./seed-fastpath";

// `npm run cli -- dev <subcommand>`: development helpers. Only `seed-fastpath` so far. It needs
// the database, so the CLI runs it in-process, or inside a running origin through its admin socket.

const USAGE =
  "dev seed-fastpath --rows N [--days D] [--seed S] [--end YYYY-MM-DD[THH:MM:SSZ]] [--metadata] [--batch N]";

class UsageError extends Error {}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new UsageError(`--${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return Number(v);
}

function parse(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      rows: { type: "string" },
      days: { type: "string" },
      seed: { type: "string" },
      end: { type: "string" },
      batch: { type: "string" },
      metadata: { type: "boolean" },
    },
  });
  if (values.rows === undefined) throw new UsageError("--rows is required");
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!/^\d+$/.test(values.seed ?? "1") || seed > 2 ** 32 - 1) throw new UsageError("--seed must be an integer 0…4294967295");
  // Default end: the start of the current UTC hour. Pass --end for rows identical across runs.
  let end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  if (values.end !== undefined) {
    const zoned = values.end.length === 10 || /(Z|[+-]\d\d:?\d\d)$/.test(values.end);
    end = new Date(zoned ? values.end : `${values.end}Z`);
    if (Number.isNaN(end.getTime())) throw new UsageError("--end must be a date such as 2024-06-01 or 2024-06-01T12:00:00Z");
  }
  return {
    rows: positiveInt("rows", values.rows, 0),
    days: positiveInt("days", values.days, 30),
    seed,
    end,
    batchRows: positiveInt("batch", values.batch, 1_000_000),
    metadata: values.metadata ?? false,
  };
}

function progress(io: CommandOutput, total: number) {
  return (n: number) => {
    const line = `inserted ${n.toLocaleString("en")} / ${total.toLocaleString("en")}`;
    if (io.interactive) io.err(`\r${line}${n === total ? "\n" : ""}`);
    else io.err(`${line}\n`);
  };
}

export const devCommand: ServicesCommand = {
  summary: "development helpers: seed-fastpath inserts realistic synthetic fastpath rows",
  usage: USAGE,
  needsServices: true,
  async runWith(services, args, io, signal) {
    const [sub, ...rest] = args;
    let o;
    try {
      if (sub !== "seed-fastpath") throw new UsageError(`unknown subcommand ${JSON.stringify(sub ?? "")}`);
      o = parse(rest);
    } catch (err) {
      if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
      io.err(`${(err as Error).message}\nusage: npm run cli -- ${USAGE}\n`);
      return 2;
    }
    const t0 = performance.now();
    const { inserted } = await seedFastpath(services.db, { ...o, onProgress: progress(io, o.rows), signal });
    const s = (performance.now() - t0) / 1000;
    io.out(
      `${JSON.stringify({ inserted, seed: o.seed, days: o.days, end: o.end.toISOString(), seconds: Math.round(s * 10) / 10, rows_per_s: Math.round(inserted / s) })}\n`,
    );
  },
};
