import { statfs as fsStatfs } from "node:fs/promises";

// Free-space guard for the spool (docs/spool.md#disk-nearly-full). A submission is refused with a
// 503 (the probe keeps the measurement and retries later) while the spool's filesystem has less than
// SPOOL_MIN_FREE_BYTES free, so the disk never fills up under an accepted write, and what is
// already stored (and the database next to it) keeps room to work. statfs is cheap but not free:
// the answer is cached for REFRESH_MS, and refreshed at once after a write failed for lack of space.

export const DEFAULT_SPOOL_MIN_FREE_BYTES = 256 * 1024 * 1024;
const REFRESH_MS = 500;
/** /health stays "full" this long after a refusal: the reserve may hold a little more than the next body needs. */
const RECENT_REFUSAL_MS = 2_000;
/** What a small file costs beyond its bytes (a block, the directory entry): counted per write. */
const PER_FILE_OVERHEAD = 4096;
/** What the 503 tells the client (Retry-After, seconds): long enough for an operator or the uploader to free space. */
export const SPOOL_FULL_RETRY_AFTER_S = 60;

/** The spool cannot take a measurement now; answered 503 with Retry-After, nothing written. */
export class SpoolFullError extends Error {
  constructor(
    readonly freeBytes: number | null,
    readonly minFreeBytes: number,
    override readonly cause?: unknown,
  ) {
    super(
      freeBytes === null
        ? "spool filesystem is full (write failed)"
        : `spool filesystem has ${freeBytes} bytes free, below the ${minFreeBytes}-byte reserve`,
    );
    this.name = "SpoolFullError";
  }
}

/** Errors of a write that mean "no room" rather than "broken disk". */
export function isNoSpaceError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

export interface SpaceStatus {
  /** Bytes available to this (unprivileged) process on the spool's filesystem; null before the first check. */
  freeBytes: number | null;
  minFreeBytes: number;
  /** Below the reserve, or a submission was refused for lack of space in the last 2 s. */
  full: boolean;
  checkedAt: number;
}

type StatFs = (dir: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

export class SpoolSpace {
  private freeBytes: number | null = null;
  private checkedAt = 0;
  /** Written since the last statfs: a burst within one refresh period must not overshoot the reserve. */
  private writtenSinceCheck = 0;
  private refusedAt = 0;
  private inFlight: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    readonly minFreeBytes: number,
    private readonly opts: { refreshMs?: number; statfs?: StatFs } = {},
  ) {}

  /** Throws SpoolFullError when `bytes` more would leave less than the reserve free. */
  async ensureRoom(bytes = 0): Promise<void> {
    if (this.minFreeBytes <= 0) return; // guard off: only a failed write says "full"
    if (Date.now() - this.checkedAt >= (this.opts.refreshMs ?? REFRESH_MS)) await this.refresh();
    if (this.freeBytes === null) return;
    const free = this.freeBytes - this.writtenSinceCheck;
    if (free - bytes < this.minFreeBytes) {
      this.refusedAt = Date.now();
      throw new SpoolFullError(Math.max(0, free), this.minFreeBytes);
    }
  }

  /** A write of `bytes` succeeded: counted against the cached figure until the next statfs. */
  noteWritten(bytes: number): void {
    this.writtenSinceCheck += bytes + PER_FILE_OVERHEAD;
  }

  /** A write failed with ENOSPC/EDQUOT: the cached figure was wrong, so ask the filesystem again now. */
  async noteNoSpace(): Promise<void> {
    this.refusedAt = Date.now();
    await this.refresh();
  }

  /** For /health and /metrics: refreshes when the cached answer is stale. */
  async status(): Promise<SpaceStatus> {
    if (Date.now() - this.checkedAt >= (this.opts.refreshMs ?? REFRESH_MS)) await this.refresh();
    const free = this.freeBytes;
    const below = free !== null && (free < this.minFreeBytes || free === 0);
    return { freeBytes: free, minFreeBytes: this.minFreeBytes, full: below || Date.now() - this.refusedAt < RECENT_REFUSAL_MS, checkedAt: this.checkedAt };
  }

  /**
   * Never rejects: when statfs itself fails, the last figure stays (none: no refusal) and it is
   * asked again next period. The guard fails open on purpose — the write is what decides, and
   * an ENOSPC there is still a 503.
   */
  private refresh(): Promise<void> {
    // Concurrent requests share one statfs.
    this.inFlight ??= (async () => {
      const written = this.writtenSinceCheck;
      try {
        const st = await (this.opts.statfs ?? fsStatfs)(this.dir);
        this.freeBytes = Number(st.bavail) * Number(st.bsize);
        // What was written while statfs ran may or may not be in its answer: keep counting it.
        this.writtenSinceCheck -= written;
      } catch {
        // keep the last figure
      } finally {
        this.checkedAt = Date.now();
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }
}
