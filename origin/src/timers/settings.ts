import path from "node:path";
import { z } from "zod";

// Timer settings (merged into the origin's EnvSchema in config.ts; docs/operations.md).

export const JOB_NAMES = ["uploader", "citizenlab", "fingerprints", "asnmeta", "geoip", "backup", "analysis", "changepoints"] as const;
export type JobName = (typeof JOB_NAMES)[number];

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** "90s", "30m", "6h", "1d", "1w" → milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms >= 1000 ? Math.round(ms) : null;
}

const isJob = (name: string): name is JobName => (JOB_NAMES as readonly string[]).includes(name);

const intervals = z.string().transform((v, ctx) => {
  const out: Partial<Record<JobName, number>> = {};
  for (const part of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [name, dur] = part.split("=").map((s) => s.trim()) as [string, string | undefined];
    const ms = dur === undefined ? null : parseDuration(dur);
    if (!isJob(name) || ms === null) {
      ctx.addIssue({ code: "custom", message: `must be job=duration pairs such as "citizenlab=6h,uploader=30m" (jobs: ${JOB_NAMES.join(", ")})` });
      return z.NEVER;
    }
    out[name] = ms;
  }
  return out;
});

const jobList = z.string().transform((v, ctx) => {
  const names = v.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !isJob(n));
  if (bad.length) {
    ctx.addIssue({ code: "custom", message: `names unknown jobs: ${bad.join(", ")} (jobs: ${JOB_NAMES.join(", ")})` });
    return z.NEVER;
  }
  return names as JobName[];
});

export const TimerSettings = z.object({
  /** Whether `serve` (hence `npm start`) runs the periodic jobs itself. */
  TIMERS_IN_ORIGIN: bool.default(true),
  /** Locks and run history; processes sharing it never run the same job at once. */
  TIMERS_DIR: z.string().trim().min(1).optional(),
  TIMERS_JITTER_S: z.coerce.number().min(0).default(300),
  /** After a process starts, its scheduler runs nothing for this long (the origin settles first). */
  TIMERS_START_DELAY_S: z.coerce.number().min(0).default(600),
  TIMERS_INTERVALS: intervals.default({}),
  TIMERS_DISABLED: jobList.default([]),
  /** A lock whose holder stopped refreshing it for this long is taken over. */
  TIMERS_LOCK_STALE_S: z.coerce.number().min(5).default(120),
});

export interface TimersConfig {
  inOrigin: boolean;
  dir: string;
  jitterMs: number;
  startDelayMs: number;
  intervalsMs: Partial<Record<JobName, number>>;
  disabled: JobName[];
  lockStaleMs: number;
}

export function timersConfig(env: z.infer<typeof TimerSettings>, dataDir: string): TimersConfig {
  return {
    inOrigin: env.TIMERS_IN_ORIGIN,
    dir: path.resolve(env.TIMERS_DIR ?? path.join(dataDir, "timers")),
    jitterMs: Math.round(env.TIMERS_JITTER_S * 1000),
    startDelayMs: Math.round(env.TIMERS_START_DELAY_S * 1000),
    intervalsMs: env.TIMERS_INTERVALS,
    disabled: env.TIMERS_DISABLED,
    lockStaleMs: Math.round(env.TIMERS_LOCK_STALE_S * 1000),
  };
}
