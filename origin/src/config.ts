import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { AccountSettings, accountsConfig, type AccountsConfig } from "./auth/settings";
import { MailSettings, mailConfig, type MailConfig } from "./mail/settings";
import { QuotaSettings, quotasConfig, type QuotasConfig } from "./quotas/settings";
import { UploaderSettings, uploaderConfig, type UploaderConfig } from "./archive/settings";
import { UpdaterSettings, updatersConfig, type UpdatersConfig } from "./updaters/settings";
import { TimerSettings, timersConfig, type TimersConfig } from "./timers/settings";
import { ExportSettings, exportConfig, type ExportConfig } from "./export/settings";
import { MetricsSettings, metricsConfig, type MetricsConfig } from "./metrics/settings";
import { DEFAULT_SPOOL_MIN_FREE_BYTES } from "./intake/spool-space";
import { CorsSettings, corsConfig } from "./cors/settings";
import type { CorsPolicy } from "#shared/cors";
import { FastpathSettings, fastpathConfig, type FastpathConfig } from "./fastpath/pipeline/settings";
import { AnonCredSettings, anonCredConfig, type AnonCredConfig } from "./anoncred/settings";
import { availableParallelism } from "node:os";

// Every setting comes from the environment (optionally seeded by a JSON file named in CONFIG_FILE;
// the environment wins). Parsing happens once at start-up so a bad value stops the process with one
// line that names the setting, instead of failing later on a request.

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));
const nonEmpty = z.string().trim().min(1, { error: "must not be empty" });
const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  }, { error: "must be an http(s) URL" });

const EnvSchema = z.object({
  // Accounts for people, their email, and fair-use quotas: defined next to the code that uses them.
  ...AccountSettings.shape,
  ...MailSettings.shape,
  ...QuotaSettings.shape,
  ...UploaderSettings.shape,
  // Operations: updaters, timers, export/backup, /metrics (docs/operations.md).
  ...UpdaterSettings.shape,
  ...TimerSettings.shape,
  ...ExportSettings.shape,
  ...MetricsSettings.shape,
  // Fastpath pipeline: scoring threads, batching, fingerprint polling (docs/fastpath.md).
  ...FastpathSettings.shape,
  // Anonymous credentials: keys, the ooniauth-py workers (docs/anonymous-credentials.md).
  ...AnonCredSettings.shape,
  // Which browser origins may call the API (docs/configuration.md#cors).
  ...CorsSettings.shape,
  DATA_DIR: nonEmpty.default("./data"),
  ORIGIN_HOST: nonEmpty.default("127.0.0.1"),
  ORIGIN_PORT: port.default(8788),
  EDGE_PORT: port.default(8787),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),

  CLICKHOUSE_URL: httpUrl.optional(),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be a plain identifier" }).default("default"),
  CLICKHOUSE_USER: z.string().optional(),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  CLICKHOUSE_QUERY_TIMEOUT_S: z.coerce.number().positive().default(28),

  BLOB_STORE: z
    .string()
    .trim()
    .refine((v) => !v.includes("://") || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v), {
      error: "must be a directory path or s3://bucket[/prefix]",
    })
    .optional(),
  S3_ENDPOINT: httpUrl.optional(),
  S3_REGION: nonEmpty.default("us-east-1"),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),

  GEOIP_COUNTRY_DB: nonEmpty.optional(),
  GEOIP_ASN_DB: nonEmpty.optional(),

  EDGE_SHARED_SECRET: z.string().min(16, { error: "must be at least 16 characters" }).optional(),
  JWT_SECRET: z.string().min(32, { error: "must be at least 32 characters" }).optional(),
  COLLECTOR_ID: z.string().regex(/^[0-9]{1,4}$/, { error: "must be a small integer such as 1" }).default("1"),
  BASE_URL: httpUrl.optional(),
  MAX_SUBMISSION_BYTES: z.coerce.number().int().min(1024).default(50 * 1024 * 1024),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),

  // Probe services and intake (docs/probe-services.md, docs/spool.md).
  PROBE_CONFIG_DIR: nonEmpty.optional(),
  TESTLISTS_BOOTSTRAP_DIR: nonEmpty.optional(),
  /** How often the in-memory test lists are compared with the database (another host may have changed them). */
  TESTLISTS_POLL_S: z.coerce.number().min(0).default(10),
  /** How often the measurement counts that weigh check-in's URLs are re-read. */
  TESTLISTS_COUNTS_REFRESH_S: z.coerce.number().min(0).default(60),
  INTAKE_DISCARD: bool.default(false),
  // Bounded work per submission (docs/reliability.md#bounded-work-per-request).
  INTAKE_SHED_RSS_MB: z.coerce.number().int().min(0).default(2048),
  INTAKE_PARSE_HEAP_MB: z.coerce.number().int().min(32).default(512),
  INTAKE_PARSE_QUEUE_MB: z.coerce.number().int().min(1).default(64),
  /** Below this much free space on the spool's filesystem, submissions get 503 + Retry-After (0 = no check). */
  SPOOL_MIN_FREE_BYTES: z.coerce.number().int().min(0).default(DEFAULT_SPOOL_MIN_FREE_BYTES),

  // Explorer read API (aggregation, /api/_ statistics): query time limit and HTTP cache lifetimes.
  EXPLORER_QUERY_TIMEOUT_S: z.coerce.number().positive().optional(),
  CACHE_HISTORICAL_MAX_AGE_S: z.coerce.number().int().min(0).default(86_400),
  CACHE_RECENT_MAX_AGE_S: z.coerce.number().int().min(0).default(300),
  CACHE_SETTLE_HOURS: z.coerce.number().min(0).default(72),
});

export type Env = z.infer<typeof EnvSchema>;

export type BlobStoreConfig =
  | { kind: "local"; dir: string }
  | {
      kind: "s3";
      bucket: string;
      prefix: string;
      endpoint: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      forcePathStyle: boolean;
    };

export type ClickHouseConfig =
  | { kind: "embedded"; path: string; database: string; queryTimeoutS: number }
  | { kind: "server"; url: string; database: string; username?: string; password?: string; queryTimeoutS: number };

export interface Config {
  env: Env;
  dataDir: string;
  spoolDir: string;
  /** Free-space reserve of the spool's filesystem (docs/spool.md#disk-nearly-full). */
  spoolMinFreeBytes: number;
  origin: { host: string; port: number };
  edgePort: number;
  logLevel: Env["LOG_LEVEL"];
  clickhouse: ClickHouseConfig;
  blobStore: BlobStoreConfig;
  geoip: { countryDb: string; asnDb: string };
  edgeSharedSecret: string | null;
  jwtSecret: string | null;
  collectorId: string;
  baseUrl: string | null;
  maxSubmissionBytes: number;
  shutdownGraceMs: number;
  probe: {
    /** Directory with services.json, tor-targets.json, psiphon-config.json, vpn-config.json, manifest.json. */
    configDir: string;
    /** CitizenLab-layout list loaded on start when the citizenlab table is empty; null = never. */
    testlistsBootstrapDir: string | null;
    /** Check-in's in-memory test lists: checksum poll and counts refresh periods (0 = off). */
    testlistsPollMs: number;
    testlistsCountsRefreshMs: number;
    /** Benchmark-only: accept submissions without storing them. */
    intakeDiscard: boolean;
    /** 503 for new submissions while the process is resident above this (bytes; 0 = off). */
    shedRssBytes: number;
    /** Heap of the parse thread for large bodies (MB), and the bytes that may wait for it. */
    parseHeapMb: number;
    parseQueueBytes: number;
  };
  accounts: AccountsConfig;
  mail: MailConfig;
  quotas: QuotasConfig;
  /** Archive uploader (docs/archive.md). */
  uploader: UploaderConfig;
  /** External data updaters, timers, export/backup and /metrics (docs/operations.md). */
  updaters: UpdatersConfig;
  timers: TimersConfig;
  export: ExportConfig;
  metrics: MetricsConfig;
  /** Browser origins allowed to call the API, credentials, exposed headers (origin/src/cors/). */
  cors: CorsPolicy;
  /** Fastpath pipeline (docs/fastpath.md). */
  fastpath: FastpathConfig;
  /** Anonymous credentials (docs/anonymous-credentials.md). */
  anoncred: AnonCredConfig;
  explorer: {
    /** max_execution_time for aggregation and statistics queries (504 beyond). */
    queryTimeoutS: number;
    cache: { historicalMaxAgeS: number; recentMaxAgeS: number; settleS: number };
  };
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly reason: string,
  ) {
    super(`configuration error: ${setting} ${reason}`);
    this.name = "ConfigError";
  }
}

/** The repository root, so defaults work whatever the current directory is. */
export const repoRoot = path.resolve(import.meta.dirname, "../..");

function readConfigFile(file: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError("CONFIG_FILE", `cannot be read as JSON (${file}): ${(err as Error).message}`);
  }
  const parsed = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError("CONFIG_FILE", `must be a JSON object of SETTING: value pairs (${file})`);
  }
  return Object.fromEntries(Object.entries(parsed.data).map(([k, v]) => [k, String(v)]));
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const fromFile = source.CONFIG_FILE ? readConfigFile(source.CONFIG_FILE) : {};
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== "") merged[k] = v;

  const parsed = EnvSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const setting = String(issue.path[0] ?? "configuration");
    const got = merged[setting];
    const shown = got === undefined || /SECRET|PASSWORD|KEY|EMAIL/.test(setting) ? "" : ` (got ${JSON.stringify(got)})`;
    throw new ConfigError(setting, `${issue.message}${shown}`);
  }
  const env = parsed.data;
  const dataDir = path.resolve(env.DATA_DIR);

  const clickhouse: ClickHouseConfig = env.CLICKHOUSE_URL
    ? {
        kind: "server",
        url: env.CLICKHOUSE_URL,
        database: env.CLICKHOUSE_DATABASE,
        username: env.CLICKHOUSE_USER,
        password: env.CLICKHOUSE_PASSWORD,
        queryTimeoutS: env.CLICKHOUSE_QUERY_TIMEOUT_S,
      }
    : {
        kind: "embedded",
        path: path.join(dataDir, "clickhouse"),
        database: env.CLICKHOUSE_DATABASE,
        queryTimeoutS: env.CLICKHOUSE_QUERY_TIMEOUT_S,
      };

  let blobStore: BlobStoreConfig;
  if (env.BLOB_STORE?.startsWith("s3://")) {
    const rest = env.BLOB_STORE.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    if (!env.S3_ENDPOINT) throw new ConfigError("S3_ENDPOINT", "is required when BLOB_STORE is an s3:// URL");
    if (!env.S3_ACCESS_KEY_ID) throw new ConfigError("S3_ACCESS_KEY_ID", "is required when BLOB_STORE is an s3:// URL");
    if (!env.S3_SECRET_ACCESS_KEY) {
      throw new ConfigError("S3_SECRET_ACCESS_KEY", "is required when BLOB_STORE is an s3:// URL");
    }
    blobStore = {
      kind: "s3",
      bucket,
      prefix,
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
    };
  } else {
    blobStore = { kind: "local", dir: path.resolve(env.BLOB_STORE ?? path.join(dataDir, "blobs")) };
  }

  const fixtures = path.join(repoRoot, "origin/fixtures/geoip");
  return {
    env,
    dataDir,
    spoolDir: path.join(dataDir, "spool"),
    spoolMinFreeBytes: env.SPOOL_MIN_FREE_BYTES,
    origin: { host: env.ORIGIN_HOST, port: env.ORIGIN_PORT },
    edgePort: env.EDGE_PORT,
    logLevel: env.LOG_LEVEL,
    clickhouse,
    blobStore,
    geoip: {
      countryDb: path.resolve(env.GEOIP_COUNTRY_DB ?? path.join(fixtures, "country.mmdb")),
      asnDb: path.resolve(env.GEOIP_ASN_DB ?? path.join(fixtures, "asn.mmdb")),
    },
    edgeSharedSecret: env.EDGE_SHARED_SECRET ?? null,
    jwtSecret: env.JWT_SECRET ?? null,
    collectorId: env.COLLECTOR_ID,
    baseUrl: env.BASE_URL ?? null,
    maxSubmissionBytes: env.MAX_SUBMISSION_BYTES,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    probe: {
      configDir: path.resolve(env.PROBE_CONFIG_DIR ?? path.join(repoRoot, "origin/fixtures/probe")),
      testlistsBootstrapDir:
        env.TESTLISTS_BOOTSTRAP_DIR === "none"
          ? null
          : path.resolve(env.TESTLISTS_BOOTSTRAP_DIR ?? path.join(repoRoot, "origin/fixtures/testlists")),
      testlistsPollMs: Math.round(env.TESTLISTS_POLL_S * 1000),
      testlistsCountsRefreshMs: Math.round(env.TESTLISTS_COUNTS_REFRESH_S * 1000),
      intakeDiscard: env.INTAKE_DISCARD,
      shedRssBytes: env.INTAKE_SHED_RSS_MB * 1024 * 1024,
      parseHeapMb: env.INTAKE_PARSE_HEAP_MB,
      parseQueueBytes: env.INTAKE_PARSE_QUEUE_MB * 1024 * 1024,
    },
    accounts: accountsConfig(env),
    mail: mailConfig(env, dataDir),
    quotas: quotasConfig(env, dataDir),
    uploader: uploaderConfig(env),
    updaters: updatersConfig(env),
    timers: timersConfig(env, dataDir),
    export: exportConfig(env),
    metrics: metricsConfig(env),
    cors: corsConfig(env, accountsConfig(env).redirectOrigins),
    fastpath: fastpathConfig(env),
    anoncred: anonCredConfig(env, dataDir, availableParallelism()),
    explorer: {
      queryTimeoutS: env.EXPLORER_QUERY_TIMEOUT_S ?? env.CLICKHOUSE_QUERY_TIMEOUT_S,
      cache: {
        historicalMaxAgeS: env.CACHE_HISTORICAL_MAX_AGE_S,
        recentMaxAgeS: env.CACHE_RECENT_MAX_AGE_S,
        settleS: Math.round(env.CACHE_SETTLE_HOURS * 3600),
      },
    },
  };
}
