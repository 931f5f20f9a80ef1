import type { Config } from "../config";
import { metrics } from "../metrics/registry";
import type { Services } from "../services";
import { notConfigured, runUpdater } from "../updaters";
import type { UpdateOptions } from "../updaters";
import { JOB_NAMES, type JobName } from "./settings";

// The periodic jobs. Intervals follow the issue (uploader hourly, updaters daily, backup weekly);
// each also has a systemd unit pair under deploy/systemd mirroring the upstream timer it replaces.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface JobDefinition {
  name: JobName;
  summary: string;
  defaultIntervalMs: number;
  /** The upstream ooni/backend systemd timer this job replaces. */
  upstream: string;
  /** Why the job cannot run with this configuration, or null. */
  notConfigured(config: Config): string | null;
  /** Runs the job once; returns a one-line summary. Throws on failure. */
  run(services: Services, signal: AbortSignal, overrides?: UpdateOptions): Promise<string>;
}

function updaterJob(name: "citizenlab" | "fingerprints" | "asnmeta" | "geoip", summary: string, upstream: string): JobDefinition {
  return {
    name,
    summary,
    defaultIntervalMs: DAY,
    upstream,
    notConfigured: (config) => notConfigured({ config }, name),
    async run(services, signal, overrides = {}) {
      const r = await runUpdater(services, name, { ...overrides, signal });
      return [r.summary, ...r.warnings].join("; ");
    },
  };
}

export const JOBS: Record<JobName, JobDefinition> = {
  uploader: {
    name: "uploader",
    summary: "archive the spool to the blob store and index it",
    defaultIntervalMs: HOUR,
    upstream: "ooni-api-uploader.timer (hourly, :10)",
    notConfigured: () => null,
    async run(services, signal) {
      // Loaded on demand: the archive module is heavy and other jobs do not need it.
      const { runUploader } = await import("../archive/uploader");
      const report = await runUploader(services, { signal, log: services.log });
      const measurements = report.archived.reduce((n, r) => n + r.measurements, 0);
      if (report.failed.length) {
        throw new Error(
          `${report.failed.length} hour directories not archived (${report.failed.map((f) => `${f.hourDir}: ${f.error}`).join("; ")}); ` +
            `${report.archived.length} archived`,
        );
      }
      metrics.observeUploaderSuccess();
      return `uploader: ${report.archived.length} hour directories, ${measurements} measurements archived`;
    },
  },
  citizenlab: updaterJob("citizenlab", "CitizenLab test lists → citizenlab", "ooni-update-citizenlab.timer (every 30 min)"),
  fingerprints: updaterJob("fingerprints", "blocking fingerprints → fingerprints tables", "ooni-update-fingerprints.timer (every 30 min)"),
  asnmeta: updaterJob("asnmeta", "ASN metadata → asnmeta", "ooni-update-asn-metadata.timer (weekly)"),
  geoip: updaterJob("geoip", "download the GeoIP databases", "ooni-download-geoip.timer (weekly)"),
  backup: {
    name: "backup",
    summary: "export the BACKUP_TABLES to the blob store (zstd CSV)",
    defaultIntervalMs: 7 * DAY,
    upstream: "ooni-db-backup.timer (weekly)",
    notConfigured: (config) => (config.export.backupTables.length ? null : "not configured: BACKUP_TABLES is empty"),
    async run(services, signal) {
      const { exportTables } = await import("../export/export");
      const results = await exportTables(services, services.config.export.backupTables, { signal, skipMissing: true });
      const rows = results.reduce((n, r) => n + r.rows, 0);
      return `backup: ${results.length} tables, ${rows} rows → ${results.map((r) => r.manifestKey).join(", ") || "nothing"}`;
    },
  },
  analysis: {
    name: "analysis",
    summary: "rebuild the last two days' web analysis with each whole day's ground truth (docs/observations.md)",
    defaultIntervalMs: DAY,
    upstream: "oonipipeline's daily analysis run (Airflow DAG)",
    notConfigured: () => null,
    async run(services, signal) {
      // Yesterday and the day before: late uploads land in days already past.
      const { reprocessAnalysisDays } = await import("../analysis/command");
      const today = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()));
      const since = new Date(today.getTime() - 2 * DAY);
      const p = await reprocessAnalysisDays(services.db, since, today, [], signal);
      return `analysis: ${p.days} days, ${p.rows} measurements analysed`;
    },
  },
  changepoints: {
    name: "changepoints",
    summary: "run the changepoint detector over the hours since its last run (docs/changepoints.md)",
    defaultIntervalMs: HOUR,
    upstream: "oonipipeline's hourly event detector (Airflow DAG hourly_batch_measurement_processing, at :30)",
    notConfigured: () => null,
    async run(services, signal) {
      const { runDetectorTimer } = await import("../changepoints/run");
      return runDetectorTimer(services.db, signal);
    },
  },
};

export function isJobName(name: string): name is JobName {
  return (JOB_NAMES as readonly string[]).includes(name);
}

export function intervalOf(config: Config, name: JobName): number {
  return config.timers.intervalsMs[name] ?? JOBS[name].defaultIntervalMs;
}

/** Jobs the scheduler runs: not disabled, and configured. */
export function activeJobs(config: Config): JobDefinition[] {
  return JOB_NAMES.map((n) => JOBS[n]).filter((j) => !config.timers.disabled.includes(j.name) && j.notConfigured(config) === null);
}
