// Which time buckets a range may be split into: at most a few hundred buckets, so a long range
// cannot ask for hourly points (backend-reference §3). `auto` picks the first allowed grain.

export const GRAINS = ["hour", "day", "week", "month", "year"] as const;
export type Grain = (typeof GRAINS)[number];

const DAY_MS = 86_400_000;

const RANGES: { maxDays: number; allowed: Grain[] }[] = [
  { maxDays: 7, allowed: ["hour", "day"] },
  { maxDays: 30, allowed: ["day", "week"] },
  { maxDays: 365, allowed: ["day", "week", "month"] },
  { maxDays: Infinity, allowed: ["day", "week", "month", "year"] },
];

export function allowedGrains(since: Date, until: Date): Grain[] {
  const days = (until.getTime() - since.getTime()) / DAY_MS;
  return RANGES.find((r) => days <= r.maxDays)!.allowed;
}

/** The grain to use, or an error message listing the allowed ones. */
export function resolveGrain(requested: Grain | "auto", since: Date, until: Date): { grain: Grain } | { error: string } {
  const allowed = allowedGrains(since, until);
  if (requested === "auto") return { grain: allowed[0]! };
  if (allowed.includes(requested)) return { grain: requested };
  return { error: `choose time_grain between ${[...allowed, "auto"].join(", ")} for the given time range` };
}
