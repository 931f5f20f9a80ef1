// What isolates and the BridgeState Durable Object exchange (RPC arguments and results: plain data).
import type { HealthCheckConfig } from "../../../bridge-config/schema";

/** busy = a 503 (load shedding): retried elsewhere, never counted toward `fall`. */
export type FailureKind = "connect" | "timeout" | "status" | "busy" | "body" | "check";

export interface FailureRecord {
  at: number;
  helper: string;
  /** active = a health check, passive = a proxied probe request. */
  source: "active" | "passive";
  kind: FailureKind;
  detail: string;
}

export interface HelperHealth {
  id: string;
  up: boolean;
  /** When `up` last changed (or the helper was first seen), ms since the epoch. */
  since: number;
  /** Consecutive failures while up (toward `fall`), consecutive successes while down (toward `rise`). */
  failures: number;
  successes: number;
  last_check: { at: number; ok: boolean; detail: string } | null;
}

export interface CacheCounters {
  hit: number;
  stale: number;
  miss: number;
  bypass: number;
}

/** What an isolate has counted since its last sync. */
export interface Counters {
  served: Record<string, number>;
  cache: CacheCounters;
}

/** The shared view an isolate routes and caches with. `version` only grows. */
export interface Snapshot {
  version: number;
  at: number;
  /** Helpers known to be down; every other helper counts as up (new helpers start up). */
  down: string[];
  /** Cache generation per route prefix; absent = 0. */
  generations: Record<string, number>;
  /** Per-URL purges: cache base key → purge time (ms). Entries stored before it are ignored. */
  purges: Record<string, number>;
}

export interface PoolIds {
  ids: string[];
}

export interface PoolSpec extends PoolIds {
  urls: string[];
  check: HealthCheckConfig;
}

export interface StatusData {
  snapshot: Snapshot;
  helpers: HelperHealth[];
  recent_failures: FailureRecord[];
  window_minutes: number;
  /** Requests each helper answered in the window, from every isolate that synced. */
  served: Record<string, number>;
  cache: CacheCounters;
  started_at: number;
}
