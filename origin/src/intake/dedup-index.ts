import { previousHourDir } from "./measurement-uid";
import type { Spool } from "./spool";

// Idempotent submission (docs/spool.md#a-retry-is-stored-once): a probe whose 200 got lost retries
// with the same bytes; if those bytes are already in the spool — in the same hour directory or the
// previous hour's (a retry across the hour boundary) — the intake answers with the existing uid and
// writes nothing.
//
// The uid names the first 16 hex of sha512(file bytes), so an index hash16 → uids per hour
// directory finds candidates without touching the disk. It is filled by this process's writes and,
// after a restart, once per hour directory from a single readdir (the names carry the hashes). A
// candidate only counts after a full byte comparison with its file: a 64-bit collision must never
// turn a different measurement into "already stored". The disk stays the truth: a file removed
// since (archived by the uploader) is dropped from the index and the measurement written again.

interface HourIndex {
  /** The hour directory before this one (same CC and test), computed once: it is asked on every submission. */
  previous: string;
  /** hash16 → uids of this directory named with it (several only after a collision, or duplicates stored before this index). */
  byHash: Map<string, string[]>;
  /** The one readdir of this directory; writes recorded meanwhile are merged, not lost. */
  loaded: Promise<void>;
}

export class DedupIndex {
  private readonly hours = new Map<string, HourIndex>();
  /** Newest `YYYYMMDDHH` asked for: anything older than the hour before it is evicted. */
  private newestHour = "";
  /** Per content key, the tail of the queue of submissions with those bytes in flight. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly spool: Spool) {}

  /**
   * Runs `fn` after every earlier call with the same key has finished: two identical submissions
   * in flight at once must not both miss the index and both write.
   */
  async serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(key, mine);
    try {
      if (prev) await prev;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === mine) this.tails.delete(key);
    }
  }

  /**
   * The uid of a spool file holding exactly `bytes` in `hourDir` or the hour before it, or null.
   * Only `.post` files are considered (a crash never leaves a partial one), and a hit is made
   * durable before it is returned: it may come from a process killed before its directory fsync.
   */
  async findIdentical(hourDir: string, hash16: string, bytes: Uint8Array): Promise<string | null> {
    const current = this.hourIndex(hourDir);
    for (const dir of [hourDir, current.previous]) {
      for (const uid of await candidates(dir === hourDir ? current : this.hourIndex(dir), hash16)) {
        let existing: Buffer | null;
        try {
          existing = await this.spool.read(dir, uid);
        } catch {
          continue; // unreadable: not a proof of anything, so store the submission anew
        }
        if (existing === null) {
          this.forget(dir, uid);
          continue;
        }
        if (!existing.equals(bytes)) continue; // a hash16 collision: a different measurement
        await this.spool.syncHourDir(dir);
        return uid;
      }
    }
    return null;
  }

  /** Records a file this process has durably written. */
  add(hourDir: string, uid: string): void {
    // Not indexed (never asked, or evicted): the directory's readdir will find the file if needed.
    const index = this.hours.get(hourDir);
    if (index) addTo(index.byHash, uid);
  }

  /** Hour directories currently indexed (for tests and eviction checks). */
  indexedHourDirs(): string[] {
    return [...this.hours.keys()].sort();
  }

  /** The index of one hour directory, its single readdir started on first use. */
  private hourIndex(hourDir: string): HourIndex {
    this.evictBefore(hourDir.slice(0, 10));
    const known = this.hours.get(hourDir);
    if (known) return known;
    const byHash = new Map<string, string[]>();
    const index: HourIndex = {
      previous: previousHourDir(hourDir),
      byHash,
      loaded: this.spool.listFiles(hourDir).then(
        (uids) => {
          for (const uid of uids) addTo(byHash, uid);
        },
        (err: unknown) => {
          // Not loaded: try again next time rather than trust an index that lacks the disk's files.
          if (this.hours.get(hourDir) === index) this.hours.delete(hourDir);
          throw err;
        },
      ),
    };
    index.loaded.catch(() => {}); // handled where awaited; never an unhandled rejection
    this.hours.set(hourDir, index);
    return index;
  }

  private forget(hourDir: string, uid: string) {
    const list = this.hours.get(hourDir)?.byHash.get(uid.slice(-16));
    const i = list?.indexOf(uid) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  /** Keeps the hour `hour` and the one before it; retries older than that are not deduplicated. */
  private evictBefore(hour: string) {
    if (hour <= this.newestHour) return;
    this.newestHour = hour;
    const keep = previousHourDir(`${hour}_`).slice(0, 10);
    for (const dir of this.hours.keys()) if (dir.slice(0, 10) < keep) this.hours.delete(dir);
  }
}

async function candidates(index: HourIndex, hash16: string): Promise<string[]> {
  try {
    await index.loaded;
  } catch {
    return []; // the directory cannot be listed: the submission is stored anew (never lost)
  }
  const uids = index.byHash.get(hash16);
  return uids ? [...uids] : [];
}

function addTo(byHash: Map<string, string[]>, uid: string) {
  const hash = uid.slice(-16);
  const list = byHash.get(hash);
  if (!list) byHash.set(hash, [uid]);
  else if (!list.includes(uid)) list.push(uid);
}
