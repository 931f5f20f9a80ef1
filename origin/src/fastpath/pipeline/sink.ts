import type { FastpathRow } from "../row";

// Rows on their way to ClickHouse: small batches, at most `flushMs` after the first row of a batch
// arrived, one INSERT at a time. A failed INSERT keeps its rows and is retried with exponential
// backoff; meanwhile `backlog` grows and the consumer stops reading the spool (backpressure), so
// memory stays bounded whatever ClickHouse does.

export interface SinkOptions {
  batchRows: number;
  flushMs: number;
  insert(rows: FastpathRow[]): Promise<void>;
  /** Rows are in ClickHouse. */
  onInserted(rows: FastpathRow[]): void;
  onError(err: unknown, attempt: number, retryInMs: number): void;
  onRecovered(failedAttempts: number): void;
}

const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 30_000;

export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt - 1, 20));
}

export class RowSink {
  private buffer: FastpathRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inserting: Promise<void> | null = null;
  private failures = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  inserted = 0;

  constructor(private readonly opts: SinkOptions) {}

  /** Rows waiting (including a batch being inserted). */
  get backlog(): number {
    return this.buffer.length;
  }

  /** Whether the last INSERT failed (ClickHouse slow or down). */
  get failing(): boolean {
    return this.failures > 0;
  }

  add(row: FastpathRow): void {
    this.buffer.push(row);
    if (this.inserting || this.failures > 0) return; // the running insert or the retry picks it up
    if (this.buffer.length >= this.opts.batchRows) this.flushSoon(0);
    else this.flushSoon(this.opts.flushMs);
  }

  /** Resolves when nothing is buffered (or the sink is closed). */
  drained(): Promise<void> {
    if (this.buffer.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops timers; with `flush`, makes one last attempt to insert what is buffered (what fails stays
   * in the spool and is scored again after the restart).
   */
  async close(flush: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
    await this.inserting?.catch(() => {});
    if (flush && this.buffer.length > 0 && this.failures === 0) {
      const rows = this.buffer.splice(0);
      await this.opts.insert(rows).then(
        () => this.opts.onInserted(rows),
        () => {},
      );
    }
    this.buffer = [];
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Schedules a flush no later than `ms` from now. */
  private flushSoon(ms: number): void {
    if (this.closed) return;
    if (this.timer) {
      if (ms > 0) return; // an earlier or equal deadline is already set
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }

  private flush(): void {
    if (this.inserting || this.closed || this.buffer.length === 0) return;
    const rows = this.buffer.slice(0, this.opts.batchRows);
    this.inserting = this.opts.insert(rows).then(
      () => {
        this.inserting = null;
        this.buffer.splice(0, rows.length);
        this.inserted += rows.length;
        if (this.failures > 0) this.opts.onRecovered(this.failures);
        this.failures = 0;
        this.opts.onInserted(rows);
        if (this.buffer.length === 0) {
          for (const w of this.idleWaiters.splice(0)) w();
        } else if (this.buffer.length >= this.opts.batchRows) {
          this.flushSoon(0);
        } else {
          // Rows that arrived during the insert have waited already: do not add a full interval.
          this.flushSoon(this.opts.flushMs / 2);
        }
      },
      (err: unknown) => {
        this.inserting = null;
        this.failures++;
        const wait = backoffMs(this.failures);
        this.opts.onError(err, this.failures, wait);
        if (!this.closed) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.flush();
          }, wait);
        }
      },
    );
  }
}
