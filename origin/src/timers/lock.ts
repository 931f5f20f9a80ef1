import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { z } from "zod";

// One runner per job across processes: a lock file created with O_EXCL ("wx"), so exactly one
// creator wins on a local filesystem (and on NFSv3+). The file holds who owns it; its mtime is a
// heartbeat the owner refreshes. A lock is stale — and may be taken over — when its owner is a
// dead process on this host, or when the heartbeat stopped for longer than `staleMs` (an owner
// on another host, or one that hangs).
//
// Taking over must not remove a lock somebody else has just created. So breaking a stale lock,
// and releasing one's own, happen under a second short-lived O_EXCL file (`<job>.lock.break`):
// under it the lock is re-read and removed only if it is still the one judged stale (or ours).

const LockInfoSchema = z.object({
  job: z.string(),
  pid: z.number().int(),
  host: z.string(),
  token: z.string(),
  acquired: z.string(),
});
export type LockInfo = z.infer<typeof LockInfoSchema>;

export interface LockState {
  info: LockInfo | null;
  /** Time since the last heartbeat. */
  ageMs: number;
  stale: boolean;
  reason: string;
}

// A creator writes its JSON right after creating the file; an unreadable file younger than this
// is a lock being created, not garbage.
const CREATING_GRACE_MS = 5_000;
// A breaker holds the break file for a few milliseconds; one older than this was left by a crash.
const BREAK_FILE_STALE_MS = 30_000;

const host = hostname();

function lockPath(dir: string, job: string): string {
  return path.join(dir, "locks", `${job}.lock`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What the lock file says and whether it may be taken over; null when there is no lock. */
export async function inspectLock(dir: string, job: string, staleMs: number, now = Date.now()): Promise<LockState | null> {
  const file = lockPath(dir, job);
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([readFile(file, "utf8"), stat(file).then((s) => s.mtimeMs)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const ageMs = Math.max(0, now - mtimeMs);
  let info: LockInfo | null = null;
  try {
    info = LockInfoSchema.parse(JSON.parse(text));
  } catch {
    const stale = ageMs > CREATING_GRACE_MS;
    return { info: null, ageMs, stale, reason: stale ? "unreadable lock file" : "being created" };
  }
  if (info.host === host && !pidAlive(info.pid)) return { info, ageMs, stale: true, reason: `process ${info.pid} is gone` };
  if (ageMs > staleMs) return { info, ageMs, stale: true, reason: `no heartbeat for ${Math.round(ageMs / 1000)} s` };
  return { info, ageMs, stale: false, reason: "held" };
}

async function createExclusive(file: string, content: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  return true;
}

/** Runs `fn` while holding `<job>.lock.break`; returns false (without running) if another holds it. */
async function underBreakMutex(dir: string, job: string, fn: () => Promise<void>): Promise<boolean> {
  const file = `${lockPath(dir, job)}.break`;
  if (!(await createExclusive(file, String(process.pid)))) {
    const st = await stat(file).catch(() => null);
    if (st && Date.now() - st.mtimeMs > BREAK_FILE_STALE_MS) await unlink(file).catch(() => {});
    return false;
  }
  try {
    await fn();
  } finally {
    await unlink(file).catch(() => {});
  }
  return true;
}

export class JobLock {
  #heartbeat: NodeJS.Timeout | null = null;
  #lost = false;
  #released = false;

  private constructor(
    readonly dir: string,
    readonly info: LockInfo,
    heartbeatMs: number,
  ) {
    this.#heartbeat = setInterval(() => void this.#beat(), heartbeatMs);
    this.#heartbeat.unref();
  }

  get file(): string {
    return lockPath(this.dir, this.info.job);
  }

  /** True when the lock file stopped being ours (taken over after our heartbeat stalled). */
  get lost(): boolean {
    return this.#lost;
  }

  /** The lock, or null when another live process holds it. Never waits for it. */
  static async tryAcquire(dir: string, job: string, opts: { staleMs: number }): Promise<JobLock | null> {
    await mkdir(path.join(dir, "locks"), { recursive: true });
    const file = lockPath(dir, job);
    const info: LockInfo = { job, pid: process.pid, host, token: randomBytes(12).toString("hex"), acquired: new Date().toISOString() };
    const content = `${JSON.stringify(info)}\n`;
    const heartbeatMs = Math.max(1000, Math.floor(opts.staleMs / 4));
    if (await createExclusive(file, content)) return new JobLock(dir, info, heartbeatMs);

    const state = await inspectLock(dir, job, opts.staleMs);
    if (state !== null && !state.stale) return null;
    if (state !== null) {
      const judged = state.info?.token ?? null;
      const broke = await underBreakMutex(dir, job, async () => {
        const again = await inspectLock(dir, job, opts.staleMs);
        if (again?.stale && (again.info?.token ?? null) === judged) await unlink(file).catch(() => {});
      });
      if (!broke) return null;
    }
    if (await createExclusive(file, content)) return new JobLock(dir, info, heartbeatMs);
    return null;
  }

  async #beat(): Promise<void> {
    if (this.#released || this.#lost) return;
    try {
      const current = LockInfoSchema.parse(JSON.parse(await readFile(this.file, "utf8")));
      if (current.token !== this.info.token) throw new Error("taken over");
      const now = new Date();
      await utimes(this.file, now, now);
    } catch {
      this.#lost = true;
      if (this.#heartbeat) clearInterval(this.#heartbeat);
    }
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const removeIfOurs = async () => {
      try {
        const current = LockInfoSchema.parse(JSON.parse(await readFile(this.file, "utf8")));
        if (current.token === this.info.token) await unlink(this.file);
      } catch {
        // Gone or replaced: nothing of ours to remove.
      }
    };
    // A breaker holds the mutex only for a moment; if it stays busy, its holder crashed and the
    // token check alone is the best we can do.
    for (let attempt = 0; attempt < 40; attempt++) {
      if (await underBreakMutex(this.dir, this.info.job, removeIfOurs)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await removeIfOurs();
  }
}
