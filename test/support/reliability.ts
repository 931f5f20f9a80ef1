import { appendFileSync } from "node:fs";

// Scale and reporting for the reliability suites (test/faults, test/fuzz, test/security).
// `npm test` runs them quick; `npm run test:faults` sets RELIABILITY_FULL=1 for the full scale.
// Every suite prints one `[reliability] …` line per scenario; when RELIABILITY_REPORT names a file,
// the same figures are appended to it as JSON lines (scripts/reliability-report.ts gathers them for
// docs/reliability.md).

export const FULL = process.env.RELIABILITY_FULL === "1";

/** The quick figure under `npm test`, the full one under `npm run test:faults`. */
export function scale<T>(quick: T, full: T): T {
  return FULL ? full : quick;
}

export interface LossCount {
  acknowledged: number;
  stored: number;
  duplicates: number;
}

/** Prints `[reliability] <suite> <scenario>: acknowledged N, stored N, duplicates 0 (…)` and records it. */
export function report(suite: string, scenario: string, figures: Partial<LossCount> & Record<string, number | string | boolean>): void {
  const head =
    figures.acknowledged !== undefined
      ? `acknowledged ${figures.acknowledged}, stored ${figures.stored}, duplicates ${figures.duplicates}`
      : "";
  const rest = Object.entries(figures)
    .filter(([k]) => !["acknowledged", "stored", "duplicates"].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  console.log(`[reliability] ${suite} ${scenario}: ${[head, rest].filter(Boolean).join(" · ")}`);
  const file = process.env.RELIABILITY_REPORT;
  if (file) {
    appendFileSync(file, JSON.stringify({ suite, scenario, full: FULL, at: new Date().toISOString(), ...figures }) + "\n");
  }
}
