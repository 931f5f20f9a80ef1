import { randomBytes } from "node:crypto";
import { constants as fsConstants, type BigIntStats } from "node:fs";
import { lstat, open, readdir, rename, rmdir, stat, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import { assertValidKey, assertValidPrefix, assertValidRange, compareKeys, isValidKey } from "./keys";
import { ensureDirDurable, errnoCode, fsyncDir } from "./local-fs";
import { BlobStoreError } from "./types";
import type { BlobInfo, BlobStore, ByteRange } from "./types";

// Temp files start with a control character, which no valid key segment may contain: they can
// never be addressed by get/put/delete nor show up in list, whatever keys callers choose.
const TMP_MARKER = "\u0001blobtmp-";

// Refuse to follow a symlink planted at the final path component (not available on Windows).
const OPEN_READ = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0);

// A concurrent delete may prune the directory between our mkdir and our open; retry that race.
const PUT_ATTEMPTS = 5;

function tmpName(): string {
  return TMP_MARKER + randomBytes(8).toString("hex");
}

function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === "ENOENT" || code === "ENOTDIR";
}

function ioError(op: string, key: string, err: unknown): BlobStoreError {
  const code = errnoCode(err) ?? "error";
  const msg = err instanceof Error ? err.message : String(err);
  return new BlobStoreError("io", `local ${op} ${JSON.stringify(key)} failed (${code}): ${msg}`, { cause: err });
}

// Inode + mtime(ns) + size: every put creates a new inode, so this changes on each replacement
// without hashing the content.
function infoFromStats(key: string, st: BigIntStats): BlobInfo {
  return {
    key,
    size: Number(st.size),
    etag: `"${st.ino.toString(16)}-${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`,
    lastModified: new Date(Number(st.mtimeMs)),
  };
}

async function readFully(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

/**
 * Blob store on a local directory, one file per key (key segments become directories).
 * POSIX only (directory fsync). A key cannot be both an object and a "folder" of other keys
 * ("a" and "a/b"): the second put fails with code "io".
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = "local" as const;
  readonly description: string;
  readonly root: string;
  private readonly rootWithSep: string;

  constructor(rootDir: string) {
    if (typeof rootDir !== "string" || rootDir === "") throw new TypeError("LocalBlobStore needs a root directory");
    this.root = path.resolve(rootDir);
    this.rootWithSep = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    this.description = `local:${this.root}`;
  }

  /** Absolute path of a validated key; re-checked after resolving so no key can leave the root. */
  pathFor(key: string): string {
    assertValidKey(key);
    return this.contained(key, path.resolve(this.root, ...key.split("/")));
  }

  private contained(what: string, abs: string): string {
    if (!abs.startsWith(this.rootWithSep)) {
      throw new BlobStoreError("invalid_key", `key ${JSON.stringify(what)} resolves outside the store root`);
    }
    return abs;
  }

  async put(key: string, body: Uint8Array, _opts?: { contentType?: string }): Promise<void> {
    // Content type is not persisted: the local layout is one plain file per key.
    const file = this.pathFor(key);
    const dir = path.dirname(file);
    const tmp = path.join(dir, tmpName());
    try {
      const fh = await this.openTmp(dir, tmp);
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      // ENOTDIR: a parent segment is an object ("a" when putting "a/b"); EISDIR: the key itself
      // is a folder of other keys ("a/b" exists when putting "a").
      if (errnoCode(err) === "EISDIR" || errnoCode(err) === "ENOTDIR") {
        throw new BlobStoreError(
          "io",
          `local put ${JSON.stringify(key)} conflicts with an existing key: a key cannot also be a prefix folder of other keys`,
          { cause: err },
        );
      }
      throw ioError("put", key, err);
    }
    try {
      await fsyncDir(dir);
    } catch (err) {
      throw ioError("put (fsync dir)", key, err);
    }
  }

  private async openTmp(dir: string, tmp: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await open(tmp, "wx");
      } catch (err) {
        if (errnoCode(err) !== "ENOENT" || attempt >= PUT_ATTEMPTS) throw err;
      }
      await ensureDirDurable(dir);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    const file = this.pathFor(key);
    if (range) assertValidRange(range);
    let fh: FileHandle;
    try {
      fh = await open(file, OPEN_READ);
    } catch (err) {
      if (isMissing(err) || errnoCode(err) === "ELOOP") return null;
      throw ioError("get", key, err);
    }
    try {
      const st = await fh.stat();
      // Opening a directory succeeds on Linux; a folder of other keys is not an object.
      if (!st.isFile()) return null;
      // The file is never modified in place (puts rename a new inode over it), so the size we
      // just read stays true for this handle.
      if (!range) return await readFully(fh, 0, st.size);
      if (range.offset >= st.size) return new Uint8Array(0);
      return await readFully(fh, range.offset, Math.min(range.length, st.size - range.offset));
    } catch (err) {
      throw ioError("get", key, err);
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<BlobInfo | null> {
    const file = this.pathFor(key);
    try {
      const st = await lstat(file, { bigint: true });
      return st.isFile() ? infoFromStats(key, st) : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw ioError("head", key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    assertValidPrefix(prefix);
    // "raw/2024010" → walk <root>/raw/ and keep entries whose name starts with "2024010".
    const slash = prefix.lastIndexOf("/");
    const dirKey = prefix.slice(0, slash + 1);
    const namePrefix = prefix.slice(slash + 1);
    const startDir = dirKey === "" ? this.root : this.contained(prefix, path.resolve(this.root, ...dirKey.slice(0, -1).split("/")));
    yield* this.walk(startDir, dirKey, namePrefix);
  }

  private async *walk(absDir: string, keyPrefix: string, namePrefix: string): AsyncGenerator<BlobInfo> {
    let dirents;
    try {
      dirents = await readdir(absDir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw ioError("list", keyPrefix, err);
    }
    // Sorting a directory by name, with "/" appended to subdirectories, yields keys in global
    // byte order: "a-c" < "a/b" < "a0". Temp files and foreign names fail isValidKey and are skipped.
    const entries = dirents
      .filter((d) => d.name.startsWith(namePrefix) && (d.isFile() || d.isDirectory()) && isValidKey(keyPrefix + d.name))
      .map((d) => ({ name: d.name, dir: d.isDirectory(), sortKey: d.isDirectory() ? `${d.name}/` : d.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const entry of entries) {
      const key = keyPrefix + entry.name;
      const abs = path.join(absDir, entry.name);
      if (entry.dir) {
        yield* this.walk(abs, `${key}/`, "");
        continue;
      }
      try {
        const st = await lstat(abs, { bigint: true });
        if (st.isFile()) yield infoFromStats(key, st);
      } catch (err) {
        // Deleted between readdir and lstat: it is simply not there any more.
        if (!isMissing(err)) throw ioError("list", key, err);
      }
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await unlink(file);
    } catch (err) {
      if (isMissing(err)) return;
      const code = errnoCode(err);
      // unlink on a directory (EISDIR on Linux, EPERM on macOS): no object under that key.
      if ((code === "EISDIR" || code === "EPERM") && (await this.isDirectory(file))) return;
      throw ioError("delete", key, err);
    }
    try {
      await fsyncDir(path.dirname(file));
    } catch (err) {
      if (!isMissing(err)) throw ioError("delete (fsync dir)", key, err);
    }
    await this.pruneEmptyDirs(path.dirname(file));
  }

  private async isDirectory(p: string): Promise<boolean> {
    try {
      return (await lstat(p)).isDirectory();
    } catch {
      return false;
    }
  }

  // Best effort: stop at the first non-empty (or already gone) directory, never remove the root.
  private async pruneEmptyDirs(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.rootWithSep)) {
      try {
        await rmdir(current);
      } catch {
        return;
      }
      current = path.dirname(current);
    }
  }

  async check(): Promise<void> {
    try {
      await ensureDirDurable(this.root);
    } catch (err) {
      throw new BlobStoreError(
        "unavailable",
        `local blob store root ${this.root} is missing and cannot be created (${errnoCode(err) ?? String(err)})`,
        { cause: err },
      );
    }
    // stat, not lstat: a root that is a symlink to a directory (e.g. onto a data disk) is fine.
    const st = await stat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new BlobStoreError("unavailable", `local blob store root ${this.root} is not a directory`);
    }
    // Prove writability the same way put does, with an invisible temp file.
    const probe = path.join(this.root, tmpName());
    try {
      const fh = await open(probe, "wx");
      try {
        await fh.writeFile("ok");
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw new BlobStoreError(
        "unavailable",
        `local blob store root ${this.root} is not writable (${errnoCode(err) ?? String(err)})`,
        { cause: err },
      );
    } finally {
      await unlink(probe).catch(() => undefined);
    }
  }
}
