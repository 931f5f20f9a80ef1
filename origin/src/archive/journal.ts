import { mkdir, open, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { HOUR_DIR_RE, UID_RE } from "../intake/measurement-uid";

// The uploader's journal: one small file per hour directory being archived, next to the spool
// (`<spool root>/uploader/<hourdir>.json`). It fixes, before anything is built, exactly which
// measurements this run archives and under which file numbers, so that after a crash the run is
// repeated with the same inputs and therefore the same file names and bytes. `committed` is set
// once the archive is stored, indexed and scored: from then on a resumed run only deletes.

const JournalSchema = z.object({
  v: z.literal(1),
  hourDir: z.string().regex(HOUR_DIR_RE),
  collectorId: z.string().regex(/^[0-9]{1,4}$/),
  /** N of the first postcan/JSONL pair this run writes. */
  firstN: z.number().int().min(0),
  canMaxBytes: z.number().int().min(1),
  /** Sorted; every one was in the hour directory when the run was planned. */
  uids: z.array(z.string().regex(UID_RE)),
  committed: z.boolean(),
});

export type Journal = z.infer<typeof JournalSchema>;

export class JournalError extends Error {
  override readonly name = "JournalError";
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class JournalStore {
  readonly dir: string;

  constructor(spoolRoot: string) {
    this.dir = path.join(spoolRoot, "uploader");
  }

  private file(hourDir: string): string {
    if (!HOUR_DIR_RE.test(hourDir)) throw new JournalError(`not an hour directory: ${JSON.stringify(hourDir)}`);
    return path.join(this.dir, `${hourDir}.json`);
  }

  /** Scratch space for the files of one run; rebuilt from the spool on every attempt. */
  workDir(hourDir: string): string {
    if (!HOUR_DIR_RE.test(hourDir)) throw new JournalError(`not an hour directory: ${JSON.stringify(hourDir)}`);
    return path.join(this.dir, "work", hourDir);
  }

  async read(hourDir: string): Promise<Journal | null> {
    let text: string;
    try {
      text = await readFile(this.file(hourDir), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    const parsed = JournalSchema.safeParse(JSON.parse(text));
    if (!parsed.success || parsed.data.hourDir !== hourDir) {
      throw new JournalError(`unreadable uploader journal ${this.file(hourDir)}: ${parsed.error?.issues[0]?.message ?? "wrong hour directory"}`);
    }
    return parsed.data;
  }

  /** Durable replace: temp file, fsync, rename, fsync the directory. */
  async write(journal: Journal): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const final = this.file(journal.hourDir);
    const tmp = `${final}.${process.pid}.tmp`;
    const fh = await open(tmp, "w", 0o644);
    try {
      await fh.writeFile(JSON.stringify(journal));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
    await fsyncDir(this.dir);
  }

  async remove(hourDir: string): Promise<void> {
    await unlink(this.file(hourDir)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    await rm(this.workDir(hourDir), { recursive: true, force: true });
    await fsyncDir(this.dir).catch(() => {});
  }

  /** Hour directories with a journal (an interrupted run to finish). */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    return names
      .filter((n) => n.endsWith(".json"))
      .map((n) => n.slice(0, -".json".length))
      .filter((d) => HOUR_DIR_RE.test(d))
      .sort();
  }
}
