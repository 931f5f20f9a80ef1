// An isolate's side of the shared state: a copy of the BridgeState snapshot, refreshed in the
// background once it is older than state.sync_interval_ms (0 = ask on every request), plus the
// counters this isolate has not handed over yet. Failures are reported at once, because they
// may take a helper down.
import type { BridgeConfig } from "../../../bridge-config/schema";
import type { CompiledPool } from "../balancer/pool";
import type { EdgeEnv } from "../env";
import type { CacheCounters, Counters, FailureRecord, PoolIds, PoolSpec, Snapshot, StatusData } from "./types";

/** How long a request waits for the first snapshot of an isolate before going on without it. */
const FIRST_SYNC_WAIT_MS = 2_000;

export type CacheOutcome = keyof CacheCounters;

export class StateClient {
  private snap: Snapshot | null = null;
  private syncedAt = 0;
  private syncing: Promise<void> | null = null;
  private reporting: Promise<void> | null = null;
  private pending: FailureRecord[] = [];
  private readonly served: Float64Array;
  private cacheCounts: CacheCounters = { hit: 0, stale: 0, miss: 0, bypass: 0 };
  private readonly ids: PoolIds;
  /** 1 for helpers that are weighted and not known down; recomputed per snapshot, read per request. */
  readonly usable: Uint8Array;

  constructor(
    private readonly config: BridgeConfig,
    private readonly pool: CompiledPool,
  ) {
    this.served = new Float64Array(pool.size);
    this.usable = pool.weighted.slice();
    this.ids = { ids: [...pool.ids] };
  }

  get snapshot(): Snapshot | null {
    return this.snap;
  }

  private stub(env: EdgeEnv) {
    return env.BRIDGE_STATE.get(env.BRIDGE_STATE.idFromName(this.config.name));
  }

  /** Takes a newer snapshot; an older one (a slow RPC overtaken by another) is ignored. */
  adopt(s: Snapshot) {
    if (this.snap && s.version < this.snap.version) return;
    this.snap = s;
    this.usable.set(this.pool.weighted);
    for (const id of s.down) {
      const i = this.pool.index.get(id);
      if (i !== undefined) this.usable[i] = 0;
    }
  }

  /**
   * The snapshot to route and cache with. Waits only when this isolate has none yet (bounded), or
   * when the interval is 0; otherwise a stale copy is used while a refresh runs in the background.
   */
  async ready(env: EdgeEnv, ctx: ExecutionContext): Promise<Snapshot | null> {
    const interval = this.config.state.sync_interval_ms;
    if (this.snap && interval > 0) {
      if (Date.now() - this.syncedAt >= interval && !this.syncing) ctx.waitUntil(this.startSync(env));
      return this.snap;
    }
    const sync = this.syncing ?? this.startSync(env);
    ctx.waitUntil(sync);
    let timer: ReturnType<typeof setTimeout> | null = null;
    await Promise.race([sync, new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_SYNC_WAIT_MS)))]);
    if (timer !== null) clearTimeout(timer);
    return this.snap;
  }

  private startSync(env: EdgeEnv): Promise<void> {
    const counters = this.takeCounters();
    const started = Date.now();
    const p = this.stub(env)
      .sync(this.ids, counters)
      .then((s) => this.adopt(s))
      .catch((err: unknown) => console.error(JSON.stringify({ event: "state_sync_failed", error: String(err) })))
      .finally(() => {
        // Also after a failure: retry after one interval rather than on every request.
        this.syncedAt = started;
        if (this.syncing === p) this.syncing = null;
      });
    this.syncing = p;
    return p;
  }

  countServed(i: number) {
    this.served[i]!++;
  }

  countCache(outcome: CacheOutcome) {
    this.cacheCounts[outcome]++;
  }

  private takeCounters(): Counters | null {
    const served: Record<string, number> = {};
    let any = false;
    for (let i = 0; i < this.pool.size; i++) {
      if (this.served[i]! > 0) {
        served[this.pool.ids[i]!] = this.served[i]!;
        any = true;
      }
    }
    const c = this.cacheCounts;
    if (!any && c.hit + c.stale + c.miss + c.bypass === 0) return null;
    this.served.fill(0);
    this.cacheCounts = { hit: 0, stale: 0, miss: 0, bypass: 0 };
    return { served, cache: c };
  }

  /** A proxied request failed on this helper: tell the Durable Object now (batched while one report is in flight). */
  reportFailure(env: EdgeEnv, ctx: ExecutionContext, failure: FailureRecord) {
    this.pending.push(failure);
    if (!this.reporting) ctx.waitUntil(this.flushFailures(env));
    else ctx.waitUntil(this.reporting);
  }

  private flushFailures(env: EdgeEnv): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const p = this.stub(env)
      .report(this.ids, this.config.helpers.check.fall, batch)
      .then((s) => this.adopt(s))
      .catch((err: unknown) => console.error(JSON.stringify({ event: "state_report_failed", error: String(err) })))
      .then(() => {
        this.reporting = null;
        if (this.pending.length > 0) return this.flushFailures(env);
      });
    this.reporting = p;
    return p;
  }

  /** Settles once every failure reported so far reached the Durable Object. */
  async settled(): Promise<void> {
    while (this.reporting) await this.reporting;
  }

  async runChecks(env: EdgeEnv): Promise<Snapshot> {
    const spec: PoolSpec = { ...this.ids, urls: [...this.pool.urls], check: this.config.helpers.check };
    const s = await this.stub(env).runChecks(spec);
    this.adopt(s);
    return s;
  }

  async status(env: EdgeEnv): Promise<StatusData> {
    const data = await this.stub(env).status(this.ids, this.takeCounters());
    this.adopt(data.snapshot);
    this.syncedAt = Date.now();
    return data;
  }

  async bumpGenerations(env: EdgeEnv, prefixes: string[]): Promise<Snapshot> {
    const s = await this.stub(env).bumpGenerations(prefixes);
    this.adopt(s);
    return s;
  }

  async purgeUrl(env: EdgeEnv, baseKey: string, maxLifetimeMs: number): Promise<Snapshot> {
    const s = await this.stub(env).purgeUrl(baseKey, maxLifetimeMs);
    this.adopt(s);
    return s;
  }
}
