import type { Logger } from "../../logger";
import type { MatchSemantics } from "../fingerprints";
import type { FingerprintLists } from "./protocol";
import { backoffMs } from "./sink";
import type { FastpathStore } from "./store";

// Keeps the scoring threads' fingerprints in step with the fingerprint tables without a restart:
// every `pollMs` a checksum query (count + hash sum of both tables, cheap: a few thousand rows);
// when it changed, the rows are read and handed over. `refresh()` checks at once (after
// `fingerprints load`). Until the first read succeeds nothing is scored; empty tables are a
// valid, empty set.

export class FingerprintWatcher {
  private version: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;
  private stopped = false;
  private firstLoad: Promise<void>;
  private resolveFirst!: () => void;

  constructor(
    private readonly store: FastpathStore,
    private readonly opts: {
      semantics: MatchSemantics;
      pollMs: number;
      log: Logger;
      onChange(lists: FingerprintLists): void;
    },
  ) {
    this.firstLoad = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  /** Checksum of the tables as last loaded; null before the first load. */
  get loadedVersion(): string | null {
    return this.version;
  }

  /** Resolves once a set has been loaded (or the watcher stopped). */
  loaded(): Promise<void> {
    return this.firstLoad;
  }

  start(): void {
    void this.refresh().catch(() => {});
  }

  /** Checks the tables now; rejects when ClickHouse cannot be asked (the poll keeps trying). */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.check().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Stops polling and waits for a check in flight: the database may be closed right after, and
   * embedded chDB must not be closed under a running query (it crashes the process).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.resolveFirst();
    await this.running?.catch(() => {});
  }

  private schedule(ms: number): void {
    if (this.stopped || ms <= 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh().catch(() => {});
    }, ms);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    try {
      const version = await this.store.fingerprintsChecksum();
      if (version !== this.version) {
        const [dns, http] = await Promise.all([this.store.loadFingerprints("dns"), this.store.loadFingerprints("http")]);
        const first = this.version === null;
        this.version = version;
        this.opts.onChange({ dns, http, semantics: this.opts.semantics, version });
        this.opts.log.info({ dns: dns.length, http: http.length, first }, "fastpath fingerprints loaded");
        if (first) this.resolveFirst();
      }
      this.failures = 0;
      this.schedule(this.opts.pollMs);
    } catch (err) {
      this.failures++;
      // Before the first load scoring waits for it: retry soon. After, the current set stays valid.
      const wait = this.version === null ? backoffMs(this.failures) : Math.max(this.opts.pollMs, backoffMs(this.failures));
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.opts.log.warn({ err, attempt: this.failures, retry_in_ms: wait }, "fastpath could not read the fingerprint tables");
      }
      if (this.version === null) this.scheduleRetry(wait);
      else this.schedule(wait);
      throw err;
    }
  }

  private scheduleRetry(ms: number): void {
    // Same as schedule(), but also when polling is off: the first load must eventually happen.
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh().catch(() => {});
    }, ms);
    this.timer.unref();
  }
}
