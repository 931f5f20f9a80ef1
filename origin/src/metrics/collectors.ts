import { stat } from "node:fs/promises";
import path from "node:path";
import { queryRows } from "../db/clickhouse";
import type { Services } from "../services";
import { RunHistory } from "../timers/history";
import { inspectLock } from "../timers/lock";
import { JOB_NAMES } from "../timers/settings";
import type { Metrics } from "./registry";

// Scrape-time readings of state that lives outside this process's memory. Each reading is cached
// for a few seconds so a burst of scrapes (several Prometheus servers, a person with curl) costs
// one directory walk and one system.tables query.

const CACHE_MS = 10_000;
const TABLES = ["fastpath", "jsonl", "citizenlab", "url_priorities", "fingerprints_dns", "fingerprints_http", "asnmeta", "accounts", "incidents", "oonirun"];
const UPDATER_JOBS = new Set(["citizenlab", "fingerprints", "asnmeta", "geoip"]);

function cached(fn: () => Promise<void>): () => Promise<void> {
  let last = 0;
  let running: Promise<void> | null = null;
  return () => {
    if (running) return running;
    if (Date.now() - last < CACHE_MS) return Promise.resolve();
    running = fn().finally(() => {
      last = Date.now();
      running = null;
    });
    return running;
  };
}

async function readSpool(m: Metrics, services: Services): Promise<void> {
  const { spool } = services;
  let depth = 0;
  let oldestMs: number | null = null;
  for (const hourDir of await spool.listHourDirs()) {
    const uids = await spool.listFiles(hourDir);
    depth += uids.length;
    // Hour directories and the files in them are listed oldest first: the first file found is the oldest.
    if (oldestMs === null && uids.length > 0) {
      const st = await stat(path.join(spool.incomingDir, hourDir, `${uids[0]}.post`)).catch(() => null);
      if (st) oldestMs = st.mtimeMs;
    }
  }
  m.spoolDepth.set(depth);
  const space = await services.spoolSpace.status();
  if (space.freeBytes !== null) m.spoolFreeBytes.set(space.freeBytes);
  m.spoolFull.set(space.full ? 1 : 0);
  m.spoolOldestAge.set(oldestMs === null ? 0 : Math.max(0, (Date.now() - oldestMs) / 1000));
}

async function readTables(m: Metrics, services: Services): Promise<void> {
  const rows = await queryRows<{ name: string; rows: number | null; bytes: number | null }>(
    services.db,
    "SELECT name, total_rows AS rows, total_bytes AS bytes FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}",
    { names: TABLES },
  );
  for (const r of rows) {
    m.tableRows.set({ table: r.name }, Number(r.rows ?? 0));
    m.tableBytes.set({ table: r.name }, Number(r.bytes ?? 0));
  }
}

async function readTimers(m: Metrics, services: Services): Promise<void> {
  const { dir, lockStaleMs } = services.config.timers;
  const history = new RunHistory(dir);
  for (const job of JOB_NAMES) {
    const runs = await history.read(job);
    const last = runs.at(-1);
    const ok = runs.findLast((r) => r.outcome === "ok");
    const failed = runs.findLast((r) => r.outcome === "failed");
    if (last) {
      m.timerLastDuration.set({ job }, last.duration_s);
      m.timerLastFailed.set({ job }, last.outcome === "failed" ? 1 : 0);
    }
    if (ok) {
      const at = Date.parse(ok.ended) / 1000;
      m.timerLastSuccess.set({ job }, at);
      // Runs by other processes (a systemd unit, `cli timers`) count as much as our own.
      if (job === "uploader") m.uploaderLastSuccess.set(Math.max(at, await gaugeValue(m.uploaderLastSuccess)));
      if (UPDATER_JOBS.has(job)) m.updaterLastSuccess.set({ updater: job }, Math.max(at, await gaugeValue(m.updaterLastSuccess, { updater: job })));
    }
    if (failed && UPDATER_JOBS.has(job)) {
      const at = Date.parse(failed.ended) / 1000;
      m.updaterLastFailure.set({ updater: job }, Math.max(at, await gaugeValue(m.updaterLastFailure, { updater: job })));
    }
    const lock = await inspectLock(dir, job, lockStaleMs).catch(() => null);
    m.timerRunning.set({ job }, lock && !lock.stale ? 1 : 0);
  }
}

async function gaugeValue(g: Metrics["uploaderLastSuccess"], labels: Record<string, string> = {}): Promise<number> {
  const { values } = await g.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

function readFastpath(m: Metrics, services: Services): void {
  const stats = services.fastpath?.stats();
  if (!stats) return;
  m.fastpathPending.set(stats.pending);
  m.fastpathBacklog.set(stats.backlog);
  m.fastpathInserted.set(stats.inserted);
  m.fastpathClickhouseFailing.set(stats.clickhouseFailing ? 1 : 0);
}

function readGeoip(m: Metrics, services: Services): void {
  const info = services.geoip.info();
  m.geoipBuild.set({ db: "country" }, info.country.buildEpoch.getTime() / 1000);
  m.geoipBuild.set({ db: "asn" }, info.asn.buildEpoch.getTime() / 1000);
}

/** Installs the scrape hook that reads spool, tables, timer history and GeoIP for `services`. */
export function bindServiceCollectors(m: Metrics, services: Services): void {
  const spool = cached(() => readSpool(m, services));
  const tables = cached(() => readTables(m, services));
  const timers = cached(() => readTimers(m, services));
  m.setScrapeHook(async () => {
    readGeoip(m, services);
    readFastpath(m, services);
    // Independent readings: one failing (say, ClickHouse down) must not blank the others.
    await Promise.allSettled([spool(), tables(), timers()]);
  });
}
