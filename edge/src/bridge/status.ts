// The status report: configuration (pool, weights) joined with the shared state (health, observed
// traffic, failures, cache counters). One object feeds both the JSON and the HTML page.
import type { Runtime } from "../env";
import type { StatusData } from "../state/types";

export interface HelperStatus {
  id: string;
  url: string;
  weight: number;
  state: "up" | "down" | "drained";
  since: string;
  /** weight / sum of the weights of helpers now up: the share of client networks it should get. */
  expected_share: number;
  /** Its share of the helper requests answered in the window (null before any). */
  observed_share: number | null;
  served: number;
  consecutive_failures: number;
  consecutive_successes: number;
  last_check: { at: string; ok: boolean; detail: string } | null;
}

export interface StatusReport {
  bridge: string;
  generated_at: string;
  state: { source: "durable-object"; version: number; started_at: string };
  window_minutes: number;
  served_total: number;
  pool: HelperStatus[];
  helper_hostnames: string[];
  client_prefix: { v4: number; v6: number };
  recent_failures: { at: string; helper: string; source: string; kind: string; detail: string }[];
  cache: {
    hit: number;
    stale: number;
    miss: number;
    bypass: number;
    /** (hit + stale) / (hit + stale + miss): the share of cacheable GETs the origin did not see. */
    hit_ratio: number | null;
    routes: { prefix: string; generation: number }[];
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function buildStatus(rt: Runtime, data: StatusData, now: number): StatusReport {
  const pool = rt.config.helpers.pool;
  let upWeight = 0;
  let servedTotal = 0;
  for (const h of pool) servedTotal += data.served[h.id] ?? 0;
  const health = new Map(data.helpers.map((h) => [h.id, h]));
  // A drained helper keeps its configured weight in the file but takes no clients.
  const effective = (h: (typeof pool)[number]) => (h.drained ? 0 : h.weight);
  for (const h of pool) if (effective(h) > 0 && health.get(h.id)?.up !== false) upWeight += effective(h);
  const c = data.cache;
  const looked = c.hit + c.stale + c.miss;
  return {
    bridge: rt.config.name,
    generated_at: iso(now),
    state: { source: "durable-object", version: data.snapshot.version, started_at: iso(data.started_at) },
    window_minutes: data.window_minutes,
    served_total: servedTotal,
    pool: pool.map((h) => {
      const hh = health.get(h.id);
      const up = hh?.up !== false;
      const state = !up ? "down" : effective(h) === 0 ? "drained" : "up";
      const served = data.served[h.id] ?? 0;
      return {
        id: h.id,
        url: h.url,
        weight: h.weight,
        state,
        since: iso(hh?.since ?? now),
        expected_share: state === "up" && upWeight > 0 ? effective(h) / upWeight : 0,
        observed_share: servedTotal > 0 ? served / servedTotal : null,
        served,
        consecutive_failures: hh?.failures ?? 0,
        consecutive_successes: hh?.successes ?? 0,
        last_check: hh?.last_check ? { at: iso(hh.last_check.at), ok: hh.last_check.ok, detail: hh.last_check.detail } : null,
      };
    }),
    helper_hostnames: rt.config.helpers.hostnames,
    client_prefix: { v4: rt.config.helpers.client_prefix_v4, v6: rt.config.helpers.client_prefix_v6 },
    recent_failures: data.recent_failures.map((f) => ({ at: iso(f.at), helper: f.helper, source: f.source, kind: f.kind, detail: f.detail })),
    cache: {
      hit: c.hit,
      stale: c.stale,
      miss: c.miss,
      bypass: c.bypass,
      hit_ratio: looked > 0 ? (c.hit + c.stale) / looked : null,
      routes: rt.config.cache.routes.map((r) => ({ prefix: r.prefix, generation: data.snapshot.generations[r.prefix] ?? 0 })),
    },
  };
}

/** How the page prints a share: "30.0 %", or "—" when there is none. Tests compare against it. */
export function formatShare(share: number | null): string {
  return share === null ? "—" : `${(share * 100).toFixed(1)} %`;
}
