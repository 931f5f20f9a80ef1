import type { Config } from "../config";
import { RunHistory, type RunRecord } from "./history";
import { intervalOf, JOBS } from "./jobs";
import { inspectLock } from "./lock";
import { nextDue } from "./scheduler";
import { JOB_NAMES, type JobName } from "./settings";

// `timers status`: what each job is, when it last ran and how that went, whether it runs now,
// and when it is next due. Reads only files (history and locks), so it works while the origin
// runs, from any process sharing TIMERS_DIR.

export interface JobStatus {
  job: JobName;
  summary: string;
  interval_s: number;
  state: "enabled" | "disabled" | "not_configured";
  reason: string | null;
  running: { pid: number; host: string; since: string; heartbeat_age_s: number; stale: boolean } | null;
  last_run: RunRecord | null;
  last_success: RunRecord | null;
  recent_failures: number;
  /** ISO time, without jitter; null when not scheduled. */
  next_due: string | null;
  upstream: string;
}

export async function timersStatus(config: Config, now = Date.now()): Promise<JobStatus[]> {
  const history = new RunHistory(config.timers.dir);
  const out: JobStatus[] = [];
  for (const name of JOB_NAMES) {
    const job = JOBS[name];
    const runs = await history.read(name);
    const last = runs.at(-1) ?? null;
    const lastOk = runs.findLast((r) => r.outcome === "ok") ?? null;
    let failures = 0;
    for (let i = runs.length - 1; i >= 0 && runs[i]!.outcome === "failed"; i--) failures++;
    const reason = config.timers.disabled.includes(name) ? "disabled by TIMERS_DISABLED" : job.notConfigured(config);
    const state = config.timers.disabled.includes(name) ? "disabled" : reason ? "not_configured" : "enabled";
    const lock = await inspectLock(config.timers.dir, name, config.timers.lockStaleMs, now).catch(() => null);
    const interval = intervalOf(config, name);
    out.push({
      job: name,
      summary: job.summary,
      interval_s: Math.round(interval / 1000),
      state,
      reason,
      running: lock?.info
        ? { pid: lock.info.pid, host: lock.info.host, since: lock.info.acquired, heartbeat_age_s: Math.round(lock.ageMs / 1000), stale: lock.stale }
        : null,
      last_run: last,
      last_success: lastOk,
      recent_failures: failures,
      next_due: state === "enabled" ? new Date(Math.max(now, nextDue({ name, intervalMs: interval }, last, now))).toISOString() : null,
      upstream: job.upstream,
    });
  }
  return out;
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

function every(s: number): string {
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

export function formatStatus(rows: JobStatus[], now = Date.now()): string {
  const lines = rows.map((r) => {
    const last = r.last_run ? `${r.last_run.outcome.padEnd(6)} ${ago(r.last_run.ended, now).padEnd(9)} ${`${r.last_run.duration_s}s`.padEnd(8)}` : `${"never".padEnd(6)} ${"".padEnd(9)} ${"".padEnd(8)}`;
    const state = r.running
      ? `running: pid ${r.running.pid} on ${r.running.host} since ${ago(r.running.since, now)}${r.running.stale ? " (STALE lock)" : ""}`
      : r.state === "enabled"
        ? `next ${r.next_due && Date.parse(r.next_due) <= now ? "due now" : `at ${r.next_due?.slice(0, 16).replace("T", " ")} UTC`} (+ jitter)`
        : r.reason ?? r.state;
    const fails = r.recent_failures > 1 ? ` [${r.recent_failures} failures in a row]` : "";
    const ok = r.last_success ? ` last ok ${ago(r.last_success.ended, now)}` : "";
    const detail = r.last_run ? `\n    ${r.last_run.summary}` : "";
    return `${r.job.padEnd(13)} ${every(r.interval_s).padEnd(4)} ${last} ${state}${ok}${fails}${detail}`;
  });
  return `${"job".padEnd(13)} ${"every".padEnd(4)} ${"last".padEnd(6)} ${"ended".padEnd(9)} ${"took".padEnd(8)} state\n${lines.join("\n")}\n`;
}
