import { mkdir, open, readFile, unlink } from "node:fs/promises";
import path from "node:path";

// One uploader at a time per spool: the hourly run inside the origin and a CLI run (through the
// admin socket, or a separate process when ClickHouse is a server) must not archive the same hour
// directory concurrently. A lock file holds the owner's pid; a lock left by a dead process (crash,
// SIGKILL) is taken over.

export class UploaderBusyError extends Error {
  override readonly name = "UploaderBusyError";
}

/** Locks this process holds: a lock file naming our own pid but not listed here is stale (pid reuse). */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function acquireUploaderLock(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, "lock");
  if (held.has(file)) throw new UploaderBusyError("the uploader is already running in this process");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, "wx", 0o644);
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      held.add(file);
      return async () => {
        held.delete(file);
        await unlink(file).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new UploaderBusyError(`the uploader is already running (pid ${owner})`);
    }
    await unlink(file).catch(() => {});
  }
  throw new UploaderBusyError("could not take the uploader lock");
}
