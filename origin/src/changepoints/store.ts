import type { Database } from "../db/clickhouse";
import { queryRows } from "../db/clickhouse";
import { chInstant } from "../pipeline-api/params";
import { SIGNALS, seriesKey, type Changepoint, type HourObservation, type SeriesKey, type SeriesState, type Signal, type SignalState, type State } from "./cusum";

// What the detector reads and writes. Every value travels as a {name:Type} parameter.

/** How far back a stored state still counts (upstream: 10 days); older series start fresh. */
export const STATE_FRESHNESS_MS = 10 * 86_400_000;

const toMs = (v: string) => Date.parse(`${v.replace(" ", "T")}Z`);
const num = (v: unknown) => (v === null || v === undefined ? Number.NaN : Number(v));

/** The domains watched, as upstream: CitizenLab's global list of the GRP (circumvention… social) category, and twitter.com. */
export async function watchedDomains(db: Database): Promise<string[]> {
  const rows = await queryRows<{ domain: string }>(db, "SELECT DISTINCT domain FROM citizenlab WHERE category_code = 'GRP' AND cc = 'ZZ'");
  return [...new Set([...rows.map((r) => r.domain), "twitter.com"])];
}

/**
 * The hourly series of analysis rows in (start, end) — both bounds exclusive, as upstream — per
 * (probe_cc, probe_asn, domain): counts and median blocked values, with DNS split by whether the
 * resolver is in the probe's own network (the ISP's) or not.
 */
export async function hourlyObservations(db: Database, start: Date, end: Date, domains: string[], probeCc: string[]): Promise<HourObservation[]> {
  const params: Record<string, unknown> = { since: chInstant(start), until: chInstant(end), domains };
  if (probeCc.length) params.probe_cc = probeCc;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    `WITH if(resolver_asn = probe_asn, 1, 0) AS is_isp_resolver
     SELECT probe_cc, probe_asn, domain, toStartOfHour(measurement_start_time) AS ts,
       countIf(is_isp_resolver = 1) AS count_isp_resolver,
       countIf(is_isp_resolver = 0) AS count_other_resolver,
       count() AS count,
       quantileIf(0.5)(dns_blocked, is_isp_resolver = 1) AS dns_isp_blocked,
       quantileIf(0.5)(dns_blocked, is_isp_resolver = 0) AS dns_other_blocked,
       quantile(0.5)(tcp_blocked) AS tcp_blocked,
       quantile(0.5)(tls_blocked) AS tls_blocked
     FROM analysis_web_measurement FINAL
     WHERE domain IN {domains:Array(String)}
       AND measurement_start_time > {since:DateTime64(3, 'UTC')} AND measurement_start_time < {until:DateTime64(3, 'UTC')}
       ${probeCc.length ? "AND probe_cc IN {probe_cc:Array(String)}" : ""}
     GROUP BY probe_cc, probe_asn, domain, ts
     ORDER BY probe_cc, probe_asn, domain, ts`,
    params,
  );
  return rows.map((r) => ({
    probe_cc: String(r.probe_cc),
    probe_asn: Number(r.probe_asn),
    domain: String(r.domain),
    ts: toMs(String(r.ts)),
    count_isp_resolver: Number(r.count_isp_resolver),
    count_other_resolver: Number(r.count_other_resolver),
    count: Number(r.count),
    dns_isp_blocked: num(r.dns_isp_blocked),
    dns_other_blocked: num(r.dns_other_blocked),
    tcp_blocked: num(r.tcp_blocked),
    tls_blocked: num(r.tls_blocked),
  }));
}

const STATES: readonly State[] = ["ok", "blk", "unk"];

/**
 * Each series' latest state stored before `start` (and less than 10 days old). FINAL: a re-run
 * window writes its states again with the same hour, and the latest write is the one that counts.
 */
export async function priorStates(db: Database, start: Date, probeCc: string[] = []): Promise<Map<SeriesKey, SeriesState>> {
  const params: Record<string, unknown> = { start: chInstant(start), fresh: chInstant(new Date(start.getTime() - STATE_FRESHNESS_MS)) };
  if (probeCc.length) params.probe_cc = probeCc;
  const cols = SIGNALS.flatMap(([s]) => ["current_state", "last_change", "s_pos", "s_neg", "last_ts"].map((f) => `argMax(${s}_${f}, ts) AS ${s}_${f}`));
  const rows = await queryRows<Record<string, unknown>>(
    db,
    `SELECT probe_asn, probe_cc, domain, max(ts) AS max_ts, ${cols.join(", ")}
     FROM event_detector_cusums FINAL
     WHERE ts < {start:DateTime64(3, 'UTC')} AND ts > {fresh:DateTime64(3, 'UTC')}
       ${probeCc.length ? "AND probe_cc IN {probe_cc:Array(String)}" : ""}
     GROUP BY probe_asn, probe_cc, domain`,
    params,
  );
  const out = new Map<SeriesKey, SeriesState>();
  for (const r of rows) {
    const signals = {} as Record<Signal, SignalState>;
    for (const [s] of SIGNALS) {
      const state = String(r[`${s}_current_state`]) as State;
      const lastChange = Number(r[`${s}_last_change`]);
      const lastTs = r[`${s}_last_ts`];
      signals[s] = {
        current_state: STATES.includes(state) ? state : "unk",
        last_change: lastChange === 1 || lastChange === -1 ? lastChange : 0,
        s_pos: Number(r[`${s}_s_pos`] ?? 0),
        s_neg: Number(r[`${s}_s_neg`] ?? 0),
        last_ts: lastTs === null || lastTs === undefined ? null : toMs(String(lastTs)),
      };
    }
    const st: SeriesState = { probe_cc: String(r.probe_cc), probe_asn: Number(r.probe_asn), domain: String(r.domain), ts: toMs(String(r.max_ts)), signals };
    out.set(seriesKey(st.probe_cc, st.probe_asn, st.domain), st);
  }
  return out;
}

const finite = (n: number) => (Number.isFinite(n) ? n : null);

export async function writeStates(db: Database, states: SeriesState[]): Promise<void> {
  if (states.length === 0) return;
  const values = states.map((st) => {
    const row: Record<string, unknown> = { probe_asn: st.probe_asn, probe_cc: st.probe_cc, domain: st.domain, ts: chInstant(new Date(st.ts)) };
    for (const [s] of SIGNALS) {
      const g = st.signals[s];
      row[`${s}_current_state`] = g.current_state;
      row[`${s}_last_change`] = g.last_change;
      row[`${s}_s_pos`] = g.s_pos;
      row[`${s}_s_neg`] = g.s_neg;
      row[`${s}_last_ts`] = g.last_ts === null ? null : chInstant(new Date(g.last_ts));
    }
    return row;
  });
  await db.client.insert({ table: "event_detector_cusums", values, format: "JSONEachRow" });
}

export async function writeChangepoints(db: Database, cps: Changepoint[]): Promise<void> {
  if (cps.length === 0) return;
  const values = cps.map((c) => ({
    probe_asn: c.probe_asn,
    probe_cc: c.probe_cc,
    domain: c.domain,
    ts: chInstant(new Date(c.ts)),
    count_isp_resolver: c.count_isp_resolver,
    count_other_resolver: c.count_other_resolver,
    count: c.count,
    dns_isp_blocked: finite(c.dns_isp_blocked),
    dns_other_blocked: finite(c.dns_other_blocked),
    tcp_blocked: finite(c.tcp_blocked),
    tls_blocked: finite(c.tls_blocked),
    change_dir: c.change_dir,
    s_pos: c.s_pos,
    s_neg: c.s_neg,
    current_state: c.current_state,
    h: c.h,
    block_type: c.block_type,
  }));
  await db.client.insert({ table: "event_detector_changepoints", values, format: "JSONEachRow" });
}

export async function recordRun(db: Database, start: Date, end: Date, probeCc: string[], changepoints: number, series: number): Promise<void> {
  await db.client.insert({
    table: "event_detector_runs",
    values: [{ window_start: chInstant(start), window_end: chInstant(end), probe_cc: probeCc, changepoints, series }],
    format: "JSONEachRow",
  });
}

/**
 * Where the timer resumes: the end of the latest window run over every country — but no later than
 * the last hour that had settled when that run finished, since a run may reach into the present
 * or the future (the CLI's default ends tomorrow) and has not seen those hours' measurements yet.
 * Null before the first run.
 */
export async function lastWindowEnd(db: Database): Promise<Date | null> {
  const [r] = await queryRows<{ end: string | null; n: number }>(
    db,
    `SELECT max(least(window_end, toDateTime64(toStartOfHour(finished_at - INTERVAL 30 MINUTE), 3, 'UTC'))) AS end, count() AS n
     FROM event_detector_runs WHERE empty(probe_cc)`,
  );
  return r && Number(r.n) > 0 && r.end ? new Date(toMs(r.end)) : null;
}
