import type { Database } from "../../db/clickhouse";
import type { TestListRequest, TestListResult } from "../test-list";
import { MeasurementCounts } from "./counts";
import { TestListSnapshot, type TestListJson } from "./snapshot";
import { listsVersion, readCounts, readListRows, readRules } from "./source";

// Check-in's test lists, served from memory (docs/probe-services.md#test-lists-in-memory). Two
// values are swapped whole, each by one assignment, so a request sees an old or a new snapshot and
// never a mix of half-loaded state:
//
// - the lists and rules (TestListSnapshot): re-read when their checksum changes (polled every
//   `pollMs`, which is how every origin host sharing a ClickHouse server learns of a new version)
//   or at once when this process changed them (`reload()`: testlists load, the citizenlab updater,
//   a url-priorities edit — locally or through the admin socket);
// - the measurement counts (MeasurementCounts): re-read every `countsRefreshMs`.
//
// A failed read keeps the current values (logged); before the first successful read, requests get
// an empty list with source "failover", as the query-based list did with the database down.

interface Log {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export interface TestListCacheOptions {
  /** How often the lists' checksum is compared (0 = only `reload()` in this process). */
  pollMs: number;
  /** How often the measurement counts are re-read (0 = only `reload()`). */
  countsRefreshMs: number;
  log: Log;
}

export class TestListCache {
  #snapshot: TestListSnapshot = TestListSnapshot.empty;
  #counts: MeasurementCounts = MeasurementCounts.empty;
  #version: string | null = null;
  #countsAt = 0;
  #countsLoaded = false;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** Every read of the database goes through this chain: one at a time, never under close(). */
  #chain: Promise<void> = Promise.resolve();
  #busy = false;

  constructor(
    private readonly db: Database,
    private readonly opts: TestListCacheOptions,
  ) {}

  /** The lists' checksum as last loaded; null before the first load. */
  get version(): string | null {
    return this.#version;
  }

  get snapshot(): TestListSnapshot {
    return this.#snapshot;
  }

  /** Loads once (a failure is logged, not thrown: the origin serves anyway) and starts polling. */
  async start(): Promise<void> {
    await this.reload().catch(() => {});
    this.#schedule();
  }

  /** The URL list for a probe: from memory, no database query. */
  async generate(req: TestListRequest): Promise<TestListResult> {
    return this.answer(req);
  }

  answer(req: TestListRequest): TestListResult {
    if (this.#version === null) return { items: [], source: "failover" };
    return this.#snapshot.generate(req, this.#counts);
  }

  /** answer() with the list serialized (what check-in writes into its response). */
  answerJson(req: TestListRequest): TestListJson {
    if (this.#version === null) return { json: "[]", items: "", count: 0, source: "failover" };
    return this.#snapshot.generateJson(req, this.#counts);
  }

  /**
   * Re-reads the lists, rules and counts now, after any read in flight; resolves when the new
   * snapshot is in place (what a writer in this process awaits so its change is visible at once).
   */
  reload(): Promise<void> {
    return this.#enqueue(true);
  }

  /** What the poll runs: the lists when their checksum changed, the counts when due. */
  refresh(): Promise<void> {
    if (this.#busy) return this.#chain;
    return this.#enqueue(false);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#chain.catch(() => {});
  }

  #enqueue(force: boolean): Promise<void> {
    const run = this.#chain.catch(() => {}).then(async () => {
      if (this.#stopped) return;
      this.#busy = true;
      try {
        await this.#check(force);
        if (this.#failures > 0) this.opts.log.info({ after_failures: this.#failures }, "test lists readable again");
        this.#failures = 0;
      } catch (err) {
        this.#failures++;
        if (this.#failures === 1 || this.#failures % 20 === 0) {
          this.opts.log.warn({ err, attempt: this.#failures, loaded: this.#version !== null }, "could not read the test lists: serving the ones in memory");
        }
        throw err;
      } finally {
        this.#busy = false;
      }
    });
    this.#chain = run;
    return run;
  }

  async #check(force: boolean): Promise<void> {
    const version = await listsVersion(this.db);
    if (force || version !== this.#version) {
      // The version is read before the rows: a change made meanwhile shows as a new version at the
      // next poll, so at worst the same lists are read twice, never a change missed.
      const [rows, rules] = await Promise.all([readListRows(this.db), readRules(this.db)]);
      const first = this.#version === null;
      this.#snapshot = new TestListSnapshot(rows, rules);
      this.#version = version;
      this.opts.log.info({ rows: this.#snapshot.rows, rules: rules.length, first }, "test lists loaded into memory");
    }
    const countsDue = this.opts.countsRefreshMs > 0 && Date.now() - this.#countsAt >= this.opts.countsRefreshMs;
    if (force || !this.#countsLoaded || countsDue) {
      this.#countsAt = Date.now();
      this.#counts = new MeasurementCounts(await readCounts(this.db));
      this.#countsLoaded = true;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const periods = [this.opts.pollMs, this.opts.countsRefreshMs].filter((ms) => ms > 0);
    const every = periods.length > 0 ? Math.min(...periods) : null;
    let wait: number;
    if (this.#version === null) {
      // Nothing loaded yet (the database was down at start): retry with backoff until a load
      // succeeds, even when polling is off — an origin must not serve empty lists for good.
      const backoff = 1000 * 2 ** Math.min(this.#failures, 5);
      wait = every === null ? backoff : Math.min(every, backoff);
    } else if (every === null) {
      return;
    } else {
      wait = every;
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.refresh()
        .catch(() => {})
        .finally(() => this.#schedule());
    }, wait);
    this.#timer.unref();
  }
}
