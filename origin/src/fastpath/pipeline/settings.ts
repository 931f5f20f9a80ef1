import { availableParallelism } from "node:os";
import { z } from "zod";
import type { MatchSemantics } from "../fingerprints";

// Fastpath pipeline settings (merged into the origin's EnvSchema in config.ts; docs/fastpath.md).

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

export const FastpathSettings = z.object({
  FASTPATH_ENABLED: bool.default(true),
  /** Scoring threads; unset = one per core minus the one the main thread (HTTP, I/O) needs. */
  FASTPATH_WORKERS: z.coerce.number().int().min(1).max(256).optional(),
  FASTPATH_BATCH_ROWS: z.coerce.number().int().min(1).max(100_000).default(1_000),
  // The latency bound is 1 s from scoring to insert, so the setting cannot exceed it.
  FASTPATH_FLUSH_MS: z.coerce.number().int().min(10).max(1_000).default(500),
  FASTPATH_MAX_PENDING: z.coerce.number().int().min(100).max(10_000_000).default(20_000),
  FASTPATH_FINGERPRINTS_POLL_S: z.coerce.number().min(0).default(30),
  FASTPATH_RESCAN_S: z.coerce.number().min(0).default(300),
  FASTPATH_FINGERPRINT_MATCHING: z.enum(["fastpath", "strict"]).default("fastpath"),
  /**
   * TEST FAULT INJECTOR, off by default: while the named file exists, every ClickHouse call the
   * pipeline makes fails as if the server were down. Lets an end-to-end test make embedded chDB
   * "unavailable" for a while without stopping the process that embeds it.
   */
  FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE: z.string().trim().min(1).optional(),
});

export interface FastpathConfig {
  enabled: boolean;
  workers: number;
  batchRows: number;
  flushMs: number;
  /** Measurements queued or scored but not yet inserted; beyond it the spool is not read. */
  maxPending: number;
  /** 0 = only reload on demand (after `fingerprints load` in this process). */
  fingerprintsPollMs: number;
  /** 0 = scan the spool only at start and after backpressure. */
  rescanMs: number;
  matching: MatchSemantics;
  faultClickhouseDownFile: string | null;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

export function fastpathConfig(env: z.infer<typeof FastpathSettings>): FastpathConfig {
  return {
    enabled: env.FASTPATH_ENABLED,
    workers: env.FASTPATH_WORKERS ?? defaultWorkers(),
    batchRows: env.FASTPATH_BATCH_ROWS,
    flushMs: env.FASTPATH_FLUSH_MS,
    maxPending: env.FASTPATH_MAX_PENDING,
    fingerprintsPollMs: Math.round(env.FASTPATH_FINGERPRINTS_POLL_S * 1000),
    rescanMs: Math.round(env.FASTPATH_RESCAN_S * 1000),
    matching: env.FASTPATH_FINGERPRINT_MATCHING,
    faultClickhouseDownFile: env.FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE ?? null,
  };
}
