// Durability helpers for the local adapter: a rename is only crash-safe once the directory holding
// the new entry has been fsynced, and a freshly created directory only once its parent has.
import { mkdir, open } from "node:fs/promises";
import path from "node:path";

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems (certain FUSE/network mounts) cannot fsync directories at all; there is
    // nothing better to do there than carry on.
    if (errnoCode(err) !== "EINVAL" && errnoCode(err) !== "ENOTSUP") throw err;
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p that fsyncs the parent of every directory it creates. An already existing path is left
 * alone; if it is not a directory the caller's next open() reports ENOTDIR/EEXIST.
 */
export async function ensureDirDurable(dir: string, attempts = 3): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "EEXIST") return;
      const parent = path.dirname(dir);
      // ENOENT: a parent is missing (or was just pruned by a concurrent delete); build it and retry.
      if (code === "ENOENT" && parent !== dir && attempt < attempts) {
        await ensureDirDurable(parent, attempts);
        continue;
      }
      throw err;
    }
    await fsyncDir(path.dirname(dir));
    return;
  }
}
