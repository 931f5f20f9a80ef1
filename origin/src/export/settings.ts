import { z } from "zod";

// Export / backup settings (merged into the origin's EnvSchema in config.ts; docs/operations.md).

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const tables = z.string().transform((v, ctx) => {
  const names = v.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.some((n) => !TABLE.test(n))) {
    ctx.addIssue({ code: "custom", message: "must be a comma-separated list of table names" });
    return z.NEVER;
  }
  return names;
});

// What cannot be rebuilt from elsewhere: people's roles and session expunges, feedback, incidents,
// OONI Run links, URL priorities. fastpath is rebuilt from the archive, citizenlab from git.
const DEFAULT_BACKUP_TABLES = ["accounts", "session_expunge", "msmt_feedback", "incidents", "oonirun", "url_priorities"];

export const ExportSettings = z.object({
  EXPORT_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { error: "must be a blob-store key prefix such as exports or backups/db" })
    .default("exports"),
  EXPORT_CHUNK_MB: z.coerce.number().min(0.001).max(1024).default(64),
  EXPORT_MAX_MB_PER_S: z.coerce.number().min(0).default(0),
  EXPORT_ZSTD_LEVEL: z.coerce.number().int().min(1).max(19).default(3),
  BACKUP_TABLES: tables.default(DEFAULT_BACKUP_TABLES),
});

export interface ExportConfig {
  prefix: string;
  /** Uncompressed CSV bytes per part object. */
  chunkBytes: number;
  /** Uncompressed bytes per second read from ClickHouse; 0 = unthrottled. */
  maxBytesPerS: number;
  zstdLevel: number;
  backupTables: string[];
}

export function exportConfig(env: z.infer<typeof ExportSettings>): ExportConfig {
  return {
    prefix: env.EXPORT_PREFIX,
    chunkBytes: Math.round(env.EXPORT_CHUNK_MB * 1024 * 1024),
    maxBytesPerS: Math.round(env.EXPORT_MAX_MB_PER_S * 1024 * 1024),
    zstdLevel: env.EXPORT_ZSTD_LEVEL,
    backupTables: env.BACKUP_TABLES,
  };
}
