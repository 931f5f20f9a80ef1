import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

// One Prometheus registry per process, with small named hooks (`metrics.observe…`) that other
// modules call. Values that live outside this process (spool files, table sizes, timer history
// written by a systemd unit) are not pushed here: they are read when /metrics is scraped, by the
// collectors in collectors.ts, so every process that serves /metrics reports the same truth.

// Prometheus' default scrape timeout is 10 s; the collectors must leave time to answer.
const SCRAPE_HOOK_TIMEOUT_MS = 5_000;

export type TimerOutcome = "ok" | "failed" | "skipped_locked";

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: "ooni_http_requests_total",
    help: "HTTP requests served by the origin, by method, matched route pattern and status code",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: "ooni_http_request_duration_seconds",
    help: "Time to produce the response (headers ready; streamed bodies may take longer), by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly quotaRejections = new Counter({
    name: "ooni_quota_rejections_total",
    help: "Requests refused with 429 because a fair-use quota bucket was exhausted",
    registers: [this.registry],
  });

  readonly fastpathLag = new Gauge({
    name: "ooni_fastpath_lag_seconds",
    help: "Age of the newest measurement the fastpath inserted, when it was inserted (spool write to ClickHouse row)",
    registers: [this.registry],
  });

  readonly fastpathLastInsert = new Gauge({
    name: "ooni_fastpath_last_insert_timestamp_seconds",
    help: "When the fastpath last inserted rows (Unix time)",
    registers: [this.registry],
  });

  readonly fastpathPending = new Gauge({
    name: "ooni_fastpath_pending",
    help: "Measurements the fastpath has queued, is scoring, or waits to insert (read from the pipeline at scrape)",
    registers: [this.registry],
  });

  readonly fastpathBacklog = new Gauge({
    name: "ooni_fastpath_backlog_rows",
    help: "Scored rows waiting for ClickHouse",
    registers: [this.registry],
  });

  readonly fastpathInserted = new Gauge({
    name: "ooni_fastpath_rows_inserted",
    help: "Rows the fastpath inserted since this process started",
    registers: [this.registry],
  });

  readonly fastpathClickhouseFailing = new Gauge({
    name: "ooni_fastpath_clickhouse_failing",
    help: "1 while the fastpath's last INSERT failed and is being retried",
    registers: [this.registry],
  });

  /** Set by this process's uploader runs; collectors.ts also folds in runs recorded by other processes. */
  readonly uploaderLastSuccess = new Gauge({
    name: "ooni_uploader_last_success_timestamp_seconds",
    help: "End of the last successful uploader run (Unix time), from this process or the timer run history",
    registers: [this.registry],
  });

  readonly updaterLastSuccess = new Gauge({
    name: "ooni_updater_last_success_timestamp_seconds",
    help: "End of the last successful update of each external data set (Unix time)",
    labelNames: ["updater"] as const,
    registers: [this.registry],
  });

  readonly updaterLastFailure = new Gauge({
    name: "ooni_updater_last_failure_timestamp_seconds",
    help: "End of the last failed update of each external data set (Unix time); live data was left untouched",
    labelNames: ["updater"] as const,
    registers: [this.registry],
  });

  readonly updaterRuns = new Counter({
    name: "ooni_updater_runs_total",
    help: "Update attempts in this process, by updater and outcome (ok, failed)",
    labelNames: ["updater", "outcome"] as const,
    registers: [this.registry],
  });

  readonly updaterRows = new Gauge({
    name: "ooni_updater_rows",
    help: "Rows (or, for geoip, files) the last successful update of each data set installed",
    labelNames: ["updater"] as const,
    registers: [this.registry],
  });

  readonly tableRows = new Gauge({
    name: "ooni_table_rows",
    help: "Rows in the main ClickHouse tables (system.tables total_rows, read at scrape, cached briefly)",
    labelNames: ["table"] as const,
    registers: [this.registry],
  });

  readonly tableBytes = new Gauge({
    name: "ooni_table_bytes",
    help: "Bytes on disk of the main ClickHouse tables (system.tables total_bytes)",
    labelNames: ["table"] as const,
    registers: [this.registry],
  });

  readonly spoolDepth = new Gauge({
    name: "ooni_spool_depth",
    help: "Measurements in the spool not yet archived by the uploader",
    registers: [this.registry],
  });

  readonly spoolOldestAge = new Gauge({
    name: "ooni_spool_oldest_age_seconds",
    help: "Age of the oldest measurement still in the spool (0 when empty)",
    registers: [this.registry],
  });

  readonly spoolFreeBytes = new Gauge({
    name: "ooni_spool_free_bytes",
    help: "Free bytes on the spool's filesystem (submissions get 503 below SPOOL_MIN_FREE_BYTES)",
    registers: [this.registry],
  });

  readonly spoolFull = new Gauge({
    name: "ooni_spool_full",
    help: "1 while the spool's filesystem is below SPOOL_MIN_FREE_BYTES free (submissions refused with 503)",
    registers: [this.registry],
  });

  readonly geoipBuild = new Gauge({
    name: "ooni_geoip_build_timestamp_seconds",
    help: "Build time of the GeoIP database being served (Unix time), by database (country, asn)",
    labelNames: ["db"] as const,
    registers: [this.registry],
  });

  readonly timerRuns = new Counter({
    name: "ooni_timer_runs_total",
    help: "Timer job runs started in this process, by job and outcome (ok, failed, skipped_locked)",
    labelNames: ["job", "outcome"] as const,
    registers: [this.registry],
  });

  readonly timerLastSuccess = new Gauge({
    name: "ooni_timer_last_success_timestamp_seconds",
    help: "End of the last successful run of each timer job, from the durable run history (any process)",
    labelNames: ["job"] as const,
    registers: [this.registry],
  });

  readonly timerLastDuration = new Gauge({
    name: "ooni_timer_last_duration_seconds",
    help: "Duration of the last run of each timer job, from the run history",
    labelNames: ["job"] as const,
    registers: [this.registry],
  });

  readonly timerLastFailed = new Gauge({
    name: "ooni_timer_last_run_failed",
    help: "1 when the last recorded run of the job failed, else 0",
    labelNames: ["job"] as const,
    registers: [this.registry],
  });

  readonly timerRunning = new Gauge({
    name: "ooni_timer_running",
    help: "1 while some process holds the job's lock (a run is in progress), else 0",
    labelNames: ["job"] as const,
    registers: [this.registry],
  });

  readonly exportRows = new Counter({
    name: "ooni_export_rows_total",
    help: "Rows written by `export` to the blob store, by table",
    labelNames: ["table"] as const,
    registers: [this.registry],
  });

  readonly exportBytes = new Counter({
    name: "ooni_export_compressed_bytes_total",
    help: "zstd-compressed bytes written by `export` to the blob store, by table",
    labelNames: ["table"] as const,
    registers: [this.registry],
  });

  readonly anoncredVerifications = new Counter({
    name: "ooni_anoncred_verifications_total",
    help: "Submissions by anonymous-credential verdict (verified, failed, unverified) and reason (upstream's error codes; none = no error)",
    labelNames: ["status", "reason"] as const,
    registers: [this.registry],
  });

  readonly anoncredDuration = new Histogram({
    name: "ooni_anoncred_seconds",
    help: "Time for an anonymous-credential operation in the ooniauth-py workers, queueing included, by operation",
    labelNames: ["op"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "ooni_" });
  }

  // ---- hooks other modules call -----------------------------------------------------------

  /** The request-metrics middleware calls this once per response. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  observeQuotaRejection(): void {
    this.quotaRejections.inc();
  }

  /** Fastpath: after each insert, the age of the newest measurement it contained. */
  observeFastpathInsert(lagSeconds: number, at: Date = new Date()): void {
    this.fastpathLag.set(Math.max(0, lagSeconds));
    this.fastpathLastInsert.set(at.getTime() / 1000);
  }

  /** Uploader: after a run that archived everything it was asked to. */
  observeUploaderSuccess(at: Date = new Date()): void {
    this.uploaderLastSuccess.set(at.getTime() / 1000);
  }

  observeUpdaterSuccess(updater: string, rows: number, at: Date = new Date()): void {
    this.updaterRuns.inc({ updater, outcome: "ok" });
    this.updaterLastSuccess.set({ updater }, at.getTime() / 1000);
    this.updaterRows.set({ updater }, rows);
  }

  observeUpdaterFailure(updater: string, at: Date = new Date()): void {
    this.updaterRuns.inc({ updater, outcome: "failed" });
    this.updaterLastFailure.set({ updater }, at.getTime() / 1000);
  }

  observeTimerRun(job: string, outcome: TimerOutcome): void {
    this.timerRuns.inc({ job, outcome });
  }

  observeExportChunk(table: string, rows: number, compressedBytes: number): void {
    this.exportRows.inc({ table }, rows);
    this.exportBytes.inc({ table }, compressedBytes);
  }

  /** Anonymous credentials: one verdict per credentialed submission (none for plain ones). */
  observeVerification(status: string, reason: string | null): void {
    this.anoncredVerifications.inc({ status, reason: reason ?? "none" });
  }

  observeAnonCredOp(op: string, seconds: number): void {
    this.anoncredDuration.observe({ op }, seconds);
  }

  #beforeScrape: (() => Promise<void>) | null = null;

  /**
   * What to read just before each scrape (spool, table sizes, timer history). One hook per
   * process: the app that serves /metrics installs it. A hook that fails or is slow only leaves
   * those gauges at their previous values; the scrape still answers.
   */
  setScrapeHook(hook: (() => Promise<void>) | null): void {
    this.#beforeScrape = hook;
  }

  /** Prometheus text exposition of everything registered (the scrape hook runs first). */
  async render(): Promise<string> {
    if (this.#beforeScrape) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#beforeScrape().catch(() => {}),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, SCRAPE_HOOK_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The process-wide registry: import it and call a hook. */
export const metrics = new Metrics();
