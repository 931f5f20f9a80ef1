import { isIP } from "node:net";
import { z } from "zod";

// /metrics access settings (merged into the origin's EnvSchema in config.ts; docs/operations.md).

function validCidr(text: string): boolean {
  const [addr, bits, extra] = text.split("/");
  if (extra !== undefined || !addr) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

const list = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));

export const MetricsSettings = z.object({
  METRICS_ALLOWLIST: list
    .pipe(z.array(z.string()).refine((a) => a.every(validCidr), { error: "must be a comma-separated list of addresses or CIDR networks" }))
    .default(["127.0.0.0/8", "::1"]),
  // Named *_SECRET so `cli config` and configuration errors never print it.
  METRICS_SECRET: z.string().min(16, { error: "must be at least 16 characters" }).optional(),
});

export interface MetricsConfig {
  /** Socket addresses (never X-Forwarded-For) allowed to scrape without a token. */
  allowlist: string[];
  /** Bearer secret that admits a scraper from any address (METRICS_SECRET). */
  bearerSecret: string | null;
}

export function metricsConfig(env: z.infer<typeof MetricsSettings>): MetricsConfig {
  return { allowlist: env.METRICS_ALLOWLIST, bearerSecret: env.METRICS_SECRET ?? null };
}
