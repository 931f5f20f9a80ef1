import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { HOUR_DIR_RE, parseMeasurementUid, UID_RE } from "./measurement-uid";

// The spool is the source of truth for every accepted measurement (docs/spool.md):
//   <root>/incoming/{YYYYMMDDHH}_{CC}_{testname}/{measurement_uid}.post
// A write is: temp file in the same directory → write → fsync → rename → fsync the directory (and,
// for a new hour directory, fsync `incoming` too). Only then does the caller answer 200. Readers
// (fastpath, uploader, raw_measurement) see complete files or nothing: temp files start with "."
// and never end in ".post".

export interface SpoolEntry {
  uid: string;
  hourDir: string;
  path: string;
  size: number;
}

export type SpoolListener = (entry: SpoolEntry) => void | Promise<void>;

const TEMP_RE = /^\..+\.tmp$/;
const STALE_TEMP_MS = 60 * 60 * 1000;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Group commit for directory fsyncs: a rename is durable once *some* fsync of its directory started
 * after the rename finished. Concurrent writers in one directory therefore share fsyncs: while one
 * runs, later callers wait for the single next one instead of queueing one each.
 */
class DirSyncer {
  private readonly dirs = new Map<string, { inFlight: Promise<void> | null; queued: Promise<void> | null }>();

  sync(dir: string): Promise<void> {
    let s = this.dirs.get(dir);
    if (!s) this.dirs.set(dir, (s = { inFlight: null, queued: null }));
    const state = s;
    if (state.queued) return state.queued;
    if (state.inFlight) {
      const ignore = () => {};
      state.queued = state.inFlight.then(ignore, ignore).then(() => {
        state.queued = null;
        return this.start(dir, state);
      });
      return state.queued;
    }
    return this.start(dir, state);
  }

  private start(dir: string, state: { inFlight: Promise<void> | null; queued: Promise<void> | null }): Promise<void> {
    const p: Promise<void> = fsyncDir(dir).finally(() => {
      if (state.inFlight === p) state.inFlight = null;
      if (!state.inFlight && !state.queued) this.dirs.delete(dir);
    });
    state.inFlight = p;
    return p;
  }
}

export class SpoolPathError extends Error {}

export class Spool {
  readonly incomingDir: string;
  private readonly syncer = new DirSyncer();
  private readonly knownHourDirs = new Set<string>();
  private readonly listeners = new Set<SpoolListener>();

  private constructor(
    readonly root: string,
    private readonly onListenerError: (err: unknown, entry: SpoolEntry) => void,
  ) {
    this.incomingDir = path.join(root, "incoming");
  }

  /** Creates the directories and removes temp files left by a crash (never acknowledged, so safe). */
  static async open(
    root: string,
    opts: { onListenerError?: (err: unknown, entry: SpoolEntry) => void } = {},
  ): Promise<Spool> {
    const spool = new Spool(path.resolve(root), opts.onListenerError ?? (() => {}));
    await mkdir(spool.incomingDir, { recursive: true });
    // The directories themselves must survive a power cut before the first file counts as stored.
    for (const dir of [spool.root, path.dirname(spool.root)]) await fsyncDir(dir).catch(() => {});
    const now = Date.now();
    for (const hourDir of await spool.listHourDirs()) {
      const dir = path.join(spool.incomingDir, hourDir);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!TEMP_RE.test(name)) continue;
        const file = path.join(dir, name);
        const st = await stat(file).catch(() => null);
        if (st && now - st.mtimeMs > STALE_TEMP_MS) await unlink(file).catch(() => {});
      }
    }
    return spool;
  }

  /** The file a uid lives in; throws for anything that is not a well-formed uid in that hour dir. */
  pathOf(hourDir: string, uid: string): string {
    const parsed = parseMeasurementUid(uid);
    if (!parsed || parsed.hourDir !== hourDir || !HOUR_DIR_RE.test(hourDir)) {
      throw new SpoolPathError(`not a spool entry: ${JSON.stringify(hourDir)}/${JSON.stringify(uid)}`);
    }
    return path.join(this.incomingDir, hourDir, `${uid}.post`);
  }

  /** Durably stores one measurement; resolves only once it would survive a crash or power loss. */
  async write(uid: string, data: Uint8Array): Promise<SpoolEntry> {
    const parsed = parseMeasurementUid(uid);
    if (!parsed) throw new SpoolPathError(`not a measurement_uid: ${JSON.stringify(uid)}`);
    const dir = path.join(this.incomingDir, parsed.hourDir);
    const final = path.join(dir, `${uid}.post`);
    try {
      await this.writeIn(dir, parsed.hourDir, uid, final, data);
    } catch (err) {
      // The hour directory may have been removed (by the uploader) after we cached it: once more.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      this.knownHourDirs.delete(parsed.hourDir);
      await this.writeIn(dir, parsed.hourDir, uid, final, data);
    }
    const entry: SpoolEntry = { uid, hourDir: parsed.hourDir, path: final, size: data.byteLength };
    this.notify(entry);
    return entry;
  }

  private async writeIn(dir: string, hourDir: string, uid: string, final: string, data: Uint8Array) {
    await this.ensureHourDir(dir, hourDir);
    const tmp = path.join(dir, `.${uid}.${randomBytes(4).toString("hex")}.tmp`);
    const fh = await open(tmp, "wx", 0o644);
    try {
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await this.syncer.sync(dir);
  }

  private async ensureHourDir(dir: string, hourDir: string) {
    if (this.knownHourDirs.has(hourDir)) return;
    let created = true;
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      created = false;
    }
    // A new directory entry is durable only once its parent is synced.
    if (created) await this.syncer.sync(this.incomingDir);
    this.knownHourDirs.add(hourDir);
  }

  /**
   * Makes what is already in an hour directory durable as a write would: fsyncs the directory and
   * `incoming/` (group-committed). For a file found rather than written here — a process killed
   * between its rename and the directory fsync left it in the page cache only.
   */
  async syncHourDir(hourDir: string): Promise<void> {
    if (!HOUR_DIR_RE.test(hourDir)) throw new SpoolPathError(`not an hour directory: ${JSON.stringify(hourDir)}`);
    await this.syncer.sync(path.join(this.incomingDir, hourDir));
    await this.syncer.sync(this.incomingDir);
  }

  /** Hour directories, oldest first. */
  async listHourDirs(): Promise<string[]> {
    const names = await readdir(this.incomingDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    return names.filter((n) => HOUR_DIR_RE.test(n)).sort();
  }

  /** The measurement_uids in one hour directory, oldest first (temp files are never listed). */
  async listFiles(hourDir: string): Promise<string[]> {
    if (!HOUR_DIR_RE.test(hourDir)) throw new SpoolPathError(`not an hour directory: ${JSON.stringify(hourDir)}`);
    const names = await readdir(path.join(this.incomingDir, hourDir)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    return names
      .filter((n) => n.endsWith(".post"))
      .map((n) => n.slice(0, -".post".length))
      .filter((uid) => UID_RE.test(uid) && parseMeasurementUid(uid)?.hourDir === hourDir)
      .sort();
  }

  /** The stored bytes, or null when absent. */
  async read(hourDir: string, uid: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(hourDir, uid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  /** Looks a uid up without scanning (its hour directory follows from the uid). Null for junk input. */
  async find(uid: string): Promise<{ entry: SpoolEntry; data: Buffer } | null> {
    const parsed = parseMeasurementUid(uid);
    if (!parsed) return null;
    const data = await this.read(parsed.hourDir, uid);
    if (!data) return null;
    return { entry: { uid, hourDir: parsed.hourDir, path: this.pathOf(parsed.hourDir, uid), size: data.length }, data };
  }

  /** Deletes one file (after it is archived elsewhere) and syncs the directory. False if absent. */
  async remove(hourDir: string, uid: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(hourDir, uid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    await this.syncer.sync(path.join(this.incomingDir, hourDir));
    return true;
  }

  /** Removes an hour directory if it holds nothing (no files, no temp files). */
  async removeHourDirIfEmpty(hourDir: string): Promise<boolean> {
    if (!HOUR_DIR_RE.test(hourDir)) throw new SpoolPathError(`not an hour directory: ${JSON.stringify(hourDir)}`);
    try {
      await rmdir(path.join(this.incomingDir, hourDir));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOENT") return false;
      throw err;
    }
    this.knownHourDirs.delete(hourDir);
    await this.syncer.sync(this.incomingDir);
    return true;
  }

  /**
   * Called after each durable write, off the request path (the 200 never waits for listeners). A
   * notification can be lost (crash, slow listener): consumers must also scan the spool.
   */
  onWrite(listener: SpoolListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(entry: SpoolEntry) {
    if (this.listeners.size === 0) return;
    setImmediate(() => {
      for (const listener of this.listeners) {
        Promise.resolve()
          .then(() => listener(entry))
          .catch((err: unknown) => this.onListenerError(err, entry));
      }
    });
  }
}
