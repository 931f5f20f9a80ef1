import path from "node:path";
import { z } from "zod";
import { parseCidr } from "./network";
import type { Budget } from "./store";

// Quota settings (merged into the origin's EnvSchema in config.ts). Budgets are seconds of
// wall-clock serving time per day / week / month; 0 disables that bucket.

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));
const seconds = z.coerce.number().min(0);
const list = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));

const DEFAULT_EXEMPT = ["/health", "/robots.txt", "/api/v1/check-in", "/api/v1/submit_measurement", "/report*"];

export const QuotaSettings = z.object({
  QUOTAS_ENABLED: bool.default(true),
  QUOTA_DB_DIR: z.string().trim().min(1).optional(),
  QUOTA_IPV4_PREFIX: z.coerce.number().int().min(1).max(32).default(24),
  QUOTA_IPV6_PREFIX: z.coerce.number().int().min(1).max(128).default(48),
  QUOTA_NETWORK_DAILY_S: seconds.default(4_000),
  QUOTA_NETWORK_WEEKLY_S: seconds.default(20_000),
  QUOTA_NETWORK_MONTHLY_S: seconds.default(60_000),
  QUOTA_ACCOUNT_DAILY_S: seconds.default(4_000),
  QUOTA_ACCOUNT_WEEKLY_S: seconds.default(20_000),
  QUOTA_ACCOUNT_MONTHLY_S: seconds.default(60_000),
  QUOTA_MIN_CHARGE_S: seconds.default(0.005),
  QUOTA_ALLOWLIST: list
    .pipe(z.array(z.string()).refine((a) => a.every((c) => parseCidr(c) !== null), {
      error: "must be a comma-separated list of addresses or CIDR networks",
    }))
    .default([]),
  QUOTA_EXEMPT_PATHS: list
    .pipe(z.array(z.string()).refine((a) => a.every((p) => p.startsWith("/")), { error: "must be paths starting with /" }))
    .default(DEFAULT_EXEMPT),
});

export interface QuotasConfig {
  enabled: boolean;
  dir: string;
  ipv4Prefix: number;
  ipv6Prefix: number;
  network: Budget;
  account: Budget;
  minChargeS: number;
  allowlist: string[];
  exemptPaths: string[];
}

export function quotasConfig(env: z.infer<typeof QuotaSettings>, dataDir: string): QuotasConfig {
  return {
    enabled: env.QUOTAS_ENABLED,
    dir: path.resolve(env.QUOTA_DB_DIR ?? path.join(dataDir, "quotas")),
    ipv4Prefix: env.QUOTA_IPV4_PREFIX,
    ipv6Prefix: env.QUOTA_IPV6_PREFIX,
    network: {
      daySeconds: env.QUOTA_NETWORK_DAILY_S,
      weekSeconds: env.QUOTA_NETWORK_WEEKLY_S,
      monthSeconds: env.QUOTA_NETWORK_MONTHLY_S,
    },
    account: {
      daySeconds: env.QUOTA_ACCOUNT_DAILY_S,
      weekSeconds: env.QUOTA_ACCOUNT_WEEKLY_S,
      monthSeconds: env.QUOTA_ACCOUNT_MONTHLY_S,
    },
    minChargeS: env.QUOTA_MIN_CHARGE_S,
    allowlist: env.QUOTA_ALLOWLIST,
    exemptPaths: env.QUOTA_EXEMPT_PATHS,
  };
}
