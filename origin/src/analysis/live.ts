import { queryRows, type Database } from "../db/clickhouse";
import type { MeasurementObservations } from "../observations/rows";
import { dayWindows } from "./store";
import {
  addControlRow,
  addReport,
  addWebRow,
  emptyWindow,
  host,
  hostKey,
  mergeWindow,
  overlay,
  windowDay,
  type WindowTruth,
} from "./ground-truth";
import { analyseMeasurement, type DnsFingerprintMatch, type WebAnalysisRow } from "./web";

// The live web analysis, in-process: a batch of measurements' observations → their
// analysis_web_measurement rows, with no query but the occasional load below.
//
// Ground truth "stored so far that day", as the SQL live mode had it, is kept in memory per
// window (upstream's batch day): loaded from ClickHouse the first time a window is touched (the
// observations written before this process started), then grown by every batch this process
// writes. A batch is analysed with its own rows on top (`overlay`, base unchanged) and joins the
// base only once written (`commit`), so a failed and retried batch is never counted twice; nor is
// a measurement stored again (restart mid-batch, `fastpath reprocess`): each window knows which
// measurements it counts. The
// last few windows are kept (measurements mostly arrive the day they were made); an older one is
// reloaded when touched. DNS fingerprints (fingerprints_dns, 'full' patterns) are reloaded every
// minute.
//
// Reprocessing whole days stays in ClickHouse (query.ts): same rules, the whole day's ground truth.

const WINDOWS_KEPT = 4;
const FINGERPRINTS_TTL_MS = 60_000;

export interface LiveBatch {
  rows: WebAnalysisRow[];
  /** Call once the batch's observation and analysis rows are written. */
  commit(): void;
}

export class LiveAnalysis {
  private readonly windows = new Map<string, Promise<WindowTruth>>();
  private fingerprints: Map<string, DnsFingerprintMatch> | null = null;
  private fingerprintsAt = 0;
  private fingerprintsLoading: Promise<void> | null = null;

  constructor(private readonly db: Database) {}

  async analyse(batch: readonly MeasurementObservations[]): Promise<LiveBatch> {
    await this.loadFingerprints();
    const byWindow = new Map<string, MeasurementObservations[]>();
    for (const o of batch) {
      const t = o.web[0]?.measurement_start_time ?? o.ctrl[0]?.measurement_start_time;
      if (t === undefined) continue;
      const w = windowDay(t);
      const list = byWindow.get(w);
      if (list) list.push(o);
      else byWindow.set(w, [o]);
    }
    const rows: WebAnalysisRow[] = [];
    const commits: (() => void)[] = [];
    for (const [day, list] of byWindow) {
      const base = await this.window(day);
      const delta = emptyWindow();
      for (const o of list) {
        // Already counted (stored before, by this process or an earlier one): its rows are there.
        if (base.measurements.has(o.measurement_uid) || delta.measurements.has(o.measurement_uid)) continue;
        delta.measurements.add(o.measurement_uid);
        for (const r of o.ctrl) addControlRow(delta, r);
        for (const r of o.web) addWebRow(delta, r);
      }
      const truth = overlay(base, delta);
      const fps = this.fingerprints!;
      const inputs = { truth, fingerprint: (a: string) => fps.get(a) };
      for (const o of list) {
        const row = analyseMeasurement(o.web, inputs);
        if (row) rows.push(row);
      }
      commits.push(() => mergeWindow(base, delta));
    }
    return { rows, commit: () => commits.forEach((c) => c()) };
  }

  private window(day: string): Promise<WindowTruth> {
    let w = this.windows.get(day);
    if (w) {
      // Most recently used last.
      this.windows.delete(day);
      this.windows.set(day, w);
      return w;
    }
    w = this.load(day);
    this.windows.set(day, w);
    w.catch(() => this.windows.delete(day)); // retried with the batch
    while (this.windows.size > WINDOWS_KEPT) this.windows.delete(this.windows.keys().next().value!);
    return w;
  }

  /** The ground truth of one window as stored: three aggregate queries. */
  private async load(day: string): Promise<WindowTruth> {
    const [win] = dayWindows([`${day} 12:00:00.000`]);
    // (day, next day], as upstream's batch and query.ts.
    const params = { since: win!.since, until: win!.until };
    const w = emptyWindow();
    const ctrl = await queryRows<{
      hostname: string; d: string; ip: string; dns_fail: number; dns_ok: number; asns: number[];
      tls_ok: number; tls_fail: number; tls_ssl: number; tcp_ok: number; tcp_fail: number;
    }>(
      this.db,
      `SELECT hostname, toString(toDate(measurement_start_time)) AS d, ip,
         countIf(dns_failure IS NOT NULL) AS dns_fail, countIf(dns_success = 1) AS dns_ok,
         groupUniqArrayIf(ip_asn, dns_success = 1 AND ip_asn != 0) AS asns,
         countIf(tls_success = 1) AS tls_ok, countIf(tls_success = 0 AND tls_failure IS NOT NULL) AS tls_fail,
         countIf(tls_success = 0 AND tls_failure LIKE 'ssl_%') AS tls_ssl,
         countIf(tcp_success = 1) AS tcp_ok, countIf(tcp_success = 0) AS tcp_fail
       FROM obs_web_ctrl FINAL WHERE measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')}
       GROUP BY hostname, d, ip`,
      params,
    );
    for (const r of ctrl) {
      // One control row per (hostname, day, address) carrying the counts: the same aggregates.
      const h = host(w, hostKey(r.d, r.hostname));
      h.hasCtrl = true;
      h.dnsFailures += Number(r.dns_fail);
      h.dnsSuccesses += Number(r.dns_ok);
      if (Number(r.dns_ok) > 0) h.dnsAnswers.add(r.ip);
      for (const a of r.asns) h.dnsAsns.add(Number(a));
      if (Number(r.tls_ssl) > 0) h.tlsInconsistent.add(r.ip);
      const put = (m: Map<string, number>, n: number) => n > 0 && m.set(r.ip, (m.get(r.ip) ?? 0) + n);
      put(h.tlsOk, Number(r.tls_ok));
      put(h.tlsFail, Number(r.tls_fail));
      put(h.tcpOk, Number(r.tcp_ok));
      put(h.tcpFail, Number(r.tcp_fail));
    }
    const valid = await queryRows<{ hostname: string; d: string; ip: string }>(
      this.db,
      `SELECT DISTINCT assumeNotNull(hostname) AS hostname, toString(toDate(measurement_start_time)) AS d, assumeNotNull(ip) AS ip
       FROM obs_web FINAL WHERE measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')} AND tls_is_certificate_valid = 1 AND hostname IS NOT NULL AND ip IS NOT NULL`,
      params,
    );
    for (const r of valid) host(w, hostKey(r.d, r.hostname)).validTlsIps.add(r.ip);
    const reports = await queryRows<{ report_id: string; fail: number; ok: number }>(
      this.db,
      `SELECT report_id, countIf(isIPv6String(ip) AND tcp_failure IS NOT NULL) AS fail, countIf(isIPv6String(ip) AND tcp_success = 1) AS ok
       FROM obs_web FINAL WHERE measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')} AND test_name = 'web_connectivity'
       GROUP BY report_id HAVING fail + ok > 0`,
      params,
    );
    for (const r of reports) addReport(w, r.report_id, Number(r.fail), Number(r.ok));
    const uids = await queryRows<{ measurement_uid: string }>(
      this.db,
      `SELECT DISTINCT measurement_uid FROM obs_web WHERE measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')}
       UNION DISTINCT
       SELECT DISTINCT measurement_uid FROM obs_web_ctrl WHERE measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time <= {until:DateTime64(3, 'UTC')}`,
      params,
    );
    for (const r of uids) w.measurements.add(r.measurement_uid);
    return w;
  }

  private async loadFingerprints(): Promise<void> {
    if (this.fingerprints && Date.now() - this.fingerprintsAt < FINGERPRINTS_TTL_MS) return;
    this.fingerprintsLoading ??= (async () => {
      try {
        const rows = await queryRows<{ pattern: string; expected_countries: string; scope: string }>(
          this.db,
          // An equality match: 'full' patterns only (every published DNS fingerprint is one), as query.ts.
          "SELECT pattern, expected_countries, toString(scope) AS scope FROM fingerprints_dns FINAL WHERE pattern_type = 'full' ORDER BY name",
        );
        const m = new Map<string, { countries: string[]; scope: string }>();
        for (const r of rows) {
          const countries = r.expected_countries.split(",").map((c) => c.replace(/^ +| +$/g, ""));
          const had = m.get(r.pattern);
          if (had) had.countries.push(...countries.filter((c) => !had.countries.includes(c)));
          else m.set(r.pattern, { countries: [...new Set(countries)], scope: r.scope });
        }
        this.fingerprints = m;
        this.fingerprintsAt = Date.now();
      } catch (err) {
        if (!this.fingerprints) throw err; // the batch fails and is retried
        this.fingerprintsAt = Date.now(); // keep the loaded set; try again in a minute
      } finally {
        this.fingerprintsLoading = null;
      }
    })();
    await this.fingerprintsLoading;
  }
}
