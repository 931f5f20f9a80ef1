// BridgeState: the one place that decides whether a helper is up, which cache generation a route is
// on and which URLs were purged, and that adds up the traffic counters of every isolate. One
// instance per bridge (named by the configuration's `name`). Isolates keep a copy of its Snapshot
// and refresh it every `state.sync_interval_ms`; see docs/edge.md for the staleness this allows.
import { DurableObject } from "cloudflare:workers";
import type { EdgeEnv } from "../env";
import { checkHelper } from "../health/checks";
import { applyCheck, applyPassiveFailure, newHealth } from "../health/transitions";
import type { CacheCounters, Counters, FailureRecord, HelperHealth, PoolIds, PoolSpec, Snapshot, StatusData } from "./types";

const WINDOW_MINUTES = 15;
const MAX_FAILURES_KEPT = 50;
// Every snapshot carries the purge records, so keep them few.
const MAX_PURGES_KEPT = 1_000;
const STORAGE_KEY = "state";
/** Counter buckets live under their own keys, one per minute, so adding to one rewrites ~100 bytes. */
const BUCKET_PREFIX = "bucket:";
const bucketKey = (minute: number) => `${BUCKET_PREFIX}${minute}`;

interface Bucket {
  minute: number;
  served: Record<string, number>;
  cache: CacheCounters;
}

interface Persisted {
  version: number;
  started_at: number;
  health: Record<string, HelperHealth>;
  generations: Record<string, number>;
  purges: Record<string, number>;
  failures: FailureRecord[];
  /** In memory: the window's buckets. In STORAGE_KEY: always [] (see BUCKET_PREFIX); older versions kept them here. */
  buckets: Bucket[];
}

function emptyCache(): CacheCounters {
  return { hit: 0, stale: 0, miss: 0, bypass: 0 };
}

export class BridgeState extends DurableObject<EdgeEnv> {
  private s!: Persisted;
  /** Minutes whose bucket changed since it was last written. */
  private dirtyMinutes = new Set<number>();
  /** Resolves once the state is loaded (tests build a second instance on the same storage to play an eviction). */
  readonly loaded: Promise<void>;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.loaded = ctx.blockConcurrencyWhile(async () => {
      const now = Date.now();
      this.s = (await ctx.storage.get<Persisted>(STORAGE_KEY)) ?? {
        version: 0,
        started_at: now,
        health: {},
        generations: {},
        purges: {},
        failures: [],
        buckets: [],
      };
      const stored = await ctx.storage.list<Bucket>({ prefix: BUCKET_PREFIX });
      // Buckets from a version that kept them inside STORAGE_KEY move to their own keys on the next write.
      for (const b of this.s.buckets) this.dirtyMinutes.add(b.minute);
      const byMinute = new Map(this.s.buckets.map((b) => [b.minute, b]));
      for (const b of stored.values()) byMinute.set(b.minute, b);
      const oldest = this.minute() - WINDOW_MINUTES + 1;
      this.s.buckets = [...byMinute.values()].filter((b) => b.minute >= oldest).sort((a, b) => a.minute - b.minute);
      const expired = [...stored.keys()].filter((k) => Number(k.slice(BUCKET_PREFIX.length)) < oldest);
      if (expired.length > 0) await ctx.storage.delete(expired);
    });
  }

  /** Isolates call this every sync interval: hand in counters, get the current view. */
  async sync(pool: PoolIds, counters: Counters | null): Promise<Snapshot> {
    const changed = this.ensure(pool.ids);
    if (counters) this.addCounters(counters);
    await this.persist(changed);
    return this.snapshot();
  }

  /** Proxied requests that failed: each counts toward `fall`. */
  async report(pool: PoolIds, fall: number, failures: FailureRecord[]): Promise<Snapshot> {
    let changed = this.ensure(pool.ids);
    for (const f of failures) {
      const h = this.s.health[f.helper];
      if (!h) continue;
      this.remember(f);
      if (applyPassiveFailure(h, f.at, fall)) changed = true;
    }
    await this.persist(changed || failures.length > 0);
    return this.snapshot();
  }

  /** The cron trigger's round of active checks, all helpers at once. */
  async runChecks(pool: PoolSpec): Promise<Snapshot> {
    this.ensure(pool.ids);
    const results = await Promise.all(pool.urls.map((url) => checkHelper(url, pool.check)));
    const at = Date.now();
    let changed = false;
    pool.ids.forEach((id, i) => {
      const h = this.s.health[id]!;
      const r = results[i]!;
      if (!r.ok) this.remember({ at, helper: id, source: "active", kind: "check", detail: r.detail });
      if (applyCheck(h, r.ok, r.detail, at, pool.check.rise, pool.check.fall)) changed = true;
    });
    // Check results (last_check) are worth keeping even when no helper changed state.
    await this.persist(true, changed);
    return this.snapshot();
  }

  /** Prefix purge: bump the generation of each route; the old entries are never looked up again. */
  async bumpGenerations(prefixes: string[]): Promise<Snapshot> {
    for (const p of prefixes) this.s.generations[p] = (this.s.generations[p] ?? 0) + 1;
    await this.persist(true);
    return this.snapshot();
  }

  /** URL purge: entries of `baseKey` stored up to now are ignored everywhere, not just in one colo. */
  async purgeUrl(baseKey: string, maxLifetimeMs: number): Promise<Snapshot> {
    const now = Date.now();
    this.s.purges[baseKey] = now;
    // A purge record is useless once every entry it could shadow has expired.
    for (const [k, t] of Object.entries(this.s.purges)) if (t < now - maxLifetimeMs) delete this.s.purges[k];
    const keys = Object.keys(this.s.purges);
    if (keys.length > MAX_PURGES_KEPT) {
      keys.sort((a, b) => this.s.purges[a]! - this.s.purges[b]!);
      for (const k of keys.slice(0, keys.length - MAX_PURGES_KEPT)) delete this.s.purges[k];
    }
    await this.persist(true);
    return this.snapshot();
  }

  async status(pool: PoolIds, counters: Counters | null): Promise<StatusData> {
    const changed = this.ensure(pool.ids);
    if (counters) this.addCounters(counters);
    await this.persist(changed);
    const since = this.minute() - WINDOW_MINUTES + 1;
    const served: Record<string, number> = {};
    const cache = emptyCache();
    for (const b of this.s.buckets) {
      if (b.minute < since) continue;
      for (const [id, n] of Object.entries(b.served)) served[id] = (served[id] ?? 0) + n;
      cache.hit += b.cache.hit;
      cache.stale += b.cache.stale;
      cache.miss += b.cache.miss;
      cache.bypass += b.cache.bypass;
    }
    return {
      snapshot: this.snapshot(),
      helpers: pool.ids.map((id) => this.s.health[id]!),
      recent_failures: this.s.failures.slice().reverse(),
      window_minutes: WINDOW_MINUTES,
      served,
      cache,
      started_at: this.s.started_at,
    };
  }

  private snapshot(): Snapshot {
    const down: string[] = [];
    for (const h of Object.values(this.s.health)) if (!h.up) down.push(h.id);
    return { version: this.s.version, at: Date.now(), down, generations: { ...this.s.generations }, purges: { ...this.s.purges } };
  }

  /** New helpers start up: a fresh deployment works before the first cron round. */
  private ensure(ids: string[]): boolean {
    let added = false;
    const now = Date.now();
    for (const id of ids) {
      if (!this.s.health[id]) {
        this.s.health[id] = newHealth(id, now);
        added = true;
      }
    }
    return added;
  }

  private remember(f: FailureRecord) {
    this.s.failures.push({ ...f, detail: f.detail.slice(0, 200) });
    if (this.s.failures.length > MAX_FAILURES_KEPT) this.s.failures.splice(0, this.s.failures.length - MAX_FAILURES_KEPT);
  }

  private minute(): number {
    return Math.floor(Date.now() / 60_000);
  }

  private addCounters(c: Counters) {
    const minute = this.minute();
    let bucket = this.s.buckets[this.s.buckets.length - 1];
    if (!bucket || bucket.minute !== minute) {
      bucket = { minute, served: {}, cache: emptyCache() };
      this.s.buckets.push(bucket);
      const oldest = minute - WINDOW_MINUTES + 1;
      while (this.s.buckets.length > 0 && this.s.buckets[0]!.minute < oldest) {
        const gone = this.s.buckets.shift()!;
        void this.ctx.storage.delete(bucketKey(gone.minute));
      }
    }
    this.dirtyMinutes.add(minute);
    for (const [id, n] of Object.entries(c.served)) bucket.served[id] = (bucket.served[id] ?? 0) + n;
    bucket.cache.hit += c.cache.hit;
    bucket.cache.stale += c.cache.stale;
    bucket.cache.miss += c.cache.miss;
    bucket.cache.bypass += c.cache.bypass;
  }

  /**
   * State changes are written at once (and bump the version isolates compare). Counters are written
   * with the sync that brought them — only the minute's own small bucket key — before the isolate
   * hears back and forgets them: an eviction can no longer lose the current minute (issue 17: 79
   * shown, 98 served). Both go in one put, so they are stored together or not at all.
   */
  private async persist(write: boolean, bumpVersion = write) {
    if (bumpVersion) this.s.version++;
    if (!write && this.dirtyMinutes.size === 0) return;
    const entries: Record<string, unknown> = {};
    if (write) entries[STORAGE_KEY] = { ...this.s, buckets: [] };
    for (const minute of this.dirtyMinutes) {
      const bucket = this.s.buckets.find((b) => b.minute === minute);
      if (bucket) entries[bucketKey(minute)] = bucket;
    }
    this.dirtyMinutes.clear();
    await this.ctx.storage.put(entries);
  }
}
