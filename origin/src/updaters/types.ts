// What every updater takes and returns.

export interface UpdateOptions {
  /** Overrides the configured source (a path or URL) for this run. */
  source?: string;
  /** Validate only; touch nothing. */
  dryRun?: boolean;
  /** Skip the shrink guard (UPDATER_MIN_KEEP_RATIO). */
  force?: boolean;
  signal?: AbortSignal;
}

export interface UpdateResult {
  updater: string;
  /** Rows (or for geoip, databases) installed; for a dry run, what would be. */
  rows: number;
  previousRows: number | null;
  /** One line for the run history and the CLI. */
  summary: string;
  warnings: string[];
  /** Row counts of the tables now live, for the metrics. */
  tables: Record<string, number>;
}
