import type { Database } from "../db/clickhouse";
import { detectChangepoints, type DetectorOptions } from "./cusum";
import { hourlyObservations, lastWindowEnd, priorStates, recordRun, watchedDomains, writeChangepoints, writeStates } from "./store";

// One detector run over a window, and the two ways to start runs: over a range in 10-day windows
// (the CLI, as upstream's `event_detector` command) and from where the last run ended (the timer).

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Upstream's CLI splits a range into windows this long. */
export const WINDOW_MS = 10 * DAY;
/** The timer leaves the current hour's last half hour to late measurements (upstream's DAG runs at :30 for the hour before). */
export const SETTLE_MS = 30 * 60_000;
/** The timer's catch-up after a long stop goes back this far at most. */
export const MAX_CATCH_UP_MS = 10 * DAY;

export interface RunSummary {
  windows: number;
  changepoints: number;
  series: number;
}

/** Detects over (start, end) from the states stored before start; writes changepoints, states and the run. */
export async function runDetectorWindow(db: Database, start: Date, end: Date, probeCc: string[], opts: DetectorOptions = {}): Promise<RunSummary> {
  const domains = await watchedDomains(db);
  const hours = await hourlyObservations(db, start, end, domains, probeCc);
  const prior = await priorStates(db, start, probeCc);
  const { changepoints, states } = detectChangepoints(hours, prior, opts);
  // States first: a crash between the two inserts re-runs the window from the same prior states
  // (those before `start`), so nothing is lost or doubled.
  await writeStates(db, states);
  await writeChangepoints(db, changepoints);
  await recordRun(db, start, end, probeCc, changepoints.length, states.length);
  return { windows: 1, changepoints: changepoints.length, series: states.length };
}

/** [start, end) cut into consecutive windows of at most WINDOW_MS. */
export function windows(start: Date, end: Date, size = WINDOW_MS): [Date, Date][] {
  const out: [Date, Date][] = [];
  for (let t = start.getTime(); t < end.getTime(); t += size) out.push([new Date(t), new Date(Math.min(t + size, end.getTime()))]);
  return out;
}

export async function runDetectorRange(
  db: Database,
  start: Date,
  end: Date,
  probeCc: string[],
  signal: AbortSignal,
  onWindow: (done: number, total: number, s: RunSummary) => void = () => {},
  opts: DetectorOptions = {},
): Promise<RunSummary> {
  const sum: RunSummary = { windows: 0, changepoints: 0, series: 0 };
  const ws = windows(start, end);
  for (const [a, b] of ws) {
    if (signal.aborted) break;
    const r = await runDetectorWindow(db, a, b, probeCc, opts);
    sum.windows++;
    sum.changepoints += r.changepoints;
    sum.series += r.series;
    onWindow(sum.windows, ws.length, sum);
  }
  return sum;
}

const floorHour = (ms: number) => Math.floor(ms / HOUR) * HOUR;

/** The window the timer runs next: from the last run's end (or one hour back) to the last settled hour. */
export function nextTimerWindow(lastEnd: Date | null, now: Date): [Date, Date] | null {
  const end = floorHour(now.getTime() - SETTLE_MS);
  const start = Math.max(lastEnd ? lastEnd.getTime() : end - HOUR, end - MAX_CATCH_UP_MS);
  return start < end ? [new Date(start), new Date(end)] : null;
}

/** The timer job: every country, from where the last run ended up to the last settled hour. */
export async function runDetectorTimer(db: Database, signal: AbortSignal, now = new Date()): Promise<string> {
  const w = nextTimerWindow(await lastWindowEnd(db), now);
  if (!w) return "changepoints: nothing new to run over";
  const s = await runDetectorRange(db, w[0], w[1], [], signal);
  return `changepoints: ${w[0].toISOString()} → ${w[1].toISOString()}, ${s.series} series, ${s.changepoints} changepoints`;
}
