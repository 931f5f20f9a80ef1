import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

// Durable run history: one small JSON file per job, `<TIMERS_DIR>/history/<job>.json`, holding the
// latest runs. Only the holder of the job's lock writes it (so there is never a lost update), by
// temp file + fsync + rename + directory fsync, so a crash leaves the old file or the new one.
// Any process (a `timers status`, the origin's /metrics) may read it at any time.

export const MAX_RUNS_KEPT = 50;

export const RunRecordSchema = z.object({
  job: z.string(),
  /** What started it: the scheduler, a person (`update …`, `timers run …`), or a systemd unit. */
  trigger: z.enum(["timer", "manual", "systemd"]),
  started: z.string(),
  ended: z.string(),
  duration_s: z.number(),
  outcome: z.enum(["ok", "failed"]),
  /** One line: what the run did (rows loaded…) or why it failed. */
  summary: z.string(),
  pid: z.number().int(),
  host: z.string(),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

const HistoryFileSchema = z.object({ job: z.string(), runs: z.array(RunRecordSchema) });

async function fsyncPath(p: string, flags: string): Promise<void> {
  const fh = await open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class RunHistory {
  readonly dir: string;

  constructor(timersDir: string) {
    this.dir = path.join(timersDir, "history");
  }

  #file(job: string): string {
    return path.join(this.dir, `${job}.json`);
  }

  /** Runs oldest first; a missing or unreadable file is an empty history (and is rewritten on the next run). */
  async read(job: string): Promise<RunRecord[]> {
    let text: string;
    try {
      text = await readFile(this.#file(job), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const parsed = HistoryFileSchema.safeParse((() => {
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    })());
    return parsed.success ? parsed.data.runs : [];
  }

  async last(job: string): Promise<RunRecord | null> {
    return (await this.read(job)).at(-1) ?? null;
  }

  async lastSuccess(job: string): Promise<RunRecord | null> {
    return (await this.read(job)).findLast((r) => r.outcome === "ok") ?? null;
  }

  /** Call only while holding the job's lock. */
  async append(record: RunRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const runs = [...(await this.read(record.job)), record].slice(-MAX_RUNS_KEPT);
    const file = this.#file(record.job);
    const tmp = path.join(this.dir, `.${record.job}.json.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      const fh = await open(tmp, "wx", 0o644);
      try {
        await fh.writeFile(`${JSON.stringify({ job: record.job, runs }, null, 1)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fsyncPath(this.dir, "r");
  }
}
