// UTC calendar arithmetic for the rolling windows of the statistics endpoints. Windows are
// computed here from one `now` and passed to SQL as parameters, so the SQL window and the list of
// days the response is padded to can never disagree (nor depend on the server's time zone).

const DAY_MS = 86_400_000;

export function startOfUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

export function addDays(d: Date, n: number): Date {
  return new Date(d.getTime() + n * DAY_MS);
}

export function startOfUtcMonth(d: Date, addMonths = 0): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + addMonths, 1));
}

/** Same day-of-month n months away (clamped to the month's end), at 00:00 UTC. */
export function addMonthsToDay(d: Date, n: number): Date {
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth(), Math.min(d.getUTCDate(), lastDay)));
}

/** "YYYY-MM-DD" */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** "YYYY-MM-DDT00:00:00+00:00", the legacy API's timestamp form for day and month points. */
export function isoMidnight(day: string): string {
  return `${day.slice(0, 10)}T00:00:00+00:00`;
}

/** Every day in [from, to) as YYYY-MM-DD. */
export function daysBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += DAY_MS) out.push(isoDay(new Date(t)));
  return out;
}
