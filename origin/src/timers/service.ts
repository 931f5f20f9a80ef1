import type { Services } from "../services";
import type { UpdateOptions } from "../updaters";
import { RunHistory } from "./history";
import { activeJobs, intervalOf, JOBS } from "./jobs";
import { runLocked, type RunOutcome, type Trigger } from "./runner";
import { Scheduler } from "./scheduler";
import type { JobName } from "./settings";

// The timers inside a process that has the services (the origin under `npm start`, or a
// `cli timers` that opened its own): each due job runs here, under its lock.

export function executeJob(
  services: Services,
  name: JobName,
  opts: { trigger: Trigger; signal: AbortSignal; overrides?: UpdateOptions },
): Promise<RunOutcome> {
  const t = services.config.timers;
  return runLocked(name, () => JOBS[name].run(services, opts.signal, opts.overrides), {
    timersDir: t.dir,
    staleMs: t.lockStaleMs,
    trigger: opts.trigger,
  });
}

export interface RunningTimers {
  jobs: string[];
  /** Stops scheduling, asks running jobs to stop, and waits for them. */
  stop(): Promise<void>;
}

export type JobExecutor = (name: JobName, signal: AbortSignal) => Promise<"ran" | "skipped_locked">;

/** Runs jobs in this process, with `services`, logging each outcome. */
export function localExecutor(services: Services): JobExecutor {
  const { log } = services;
  return async (name, signal) => {
    const r = await executeJob(services, name, { trigger: "timer", signal });
    if (r.outcome === "skipped_locked") {
      log.info({ job: name, holder: r.holder }, "timer job skipped: another process runs it");
      return "skipped_locked";
    }
    if (r.outcome === "failed") log.error({ job: name, err: r.record.summary }, "timer job failed");
    else log.info({ job: name, took_s: r.record.duration_s }, r.record.summary);
    return "ran";
  };
}

/** Starts the scheduler over the configured jobs; `execute` decides where a due job runs. */
export function startTimers(deps: Pick<Services, "config" | "log">, execute: JobExecutor): RunningTimers {
  const { config, log } = deps;
  const abort = new AbortController();
  const jobs = activeJobs(config);
  const scheduler = new Scheduler({
    jobs: jobs.map((j) => ({ name: j.name, intervalMs: intervalOf(config, j.name) })),
    history: new RunHistory(config.timers.dir),
    jitterMs: config.timers.jitterMs,
    startAt: Date.now() + config.timers.startDelayMs,
    execute: (name) => execute(name as JobName, abort.signal),
    onError: (job, err) => log.error({ job, err: (err as Error).message }, "timer scheduling failed"),
  });
  scheduler.start();
  log.info({ jobs: jobs.map((j) => j.name), dir: config.timers.dir }, "timers started");
  return {
    jobs: jobs.map((j) => j.name),
    async stop() {
      abort.abort();
      await scheduler.stop();
    },
  };
}
