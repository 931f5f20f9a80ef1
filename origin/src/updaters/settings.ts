import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";

// Updater settings (merged into the origin's EnvSchema in config.ts; docs/operations.md). Each
// data set has a *source*: a local path or an http(s) URL (a git URL for CitizenLab). An unset
// source leaves that updater (and its timer job) off: nothing is fetched unless an operator asks.

const list = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));
const source = z.string().trim().min(1, { error: "must not be empty" });
const httpUrlTemplate = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v.replaceAll("{YYYY}", "2000").replaceAll("{MM}", "01"));
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  }, { error: "must be an http(s) URL ({YYYY} and {MM} may stand for the current year and month)" });

export const UpdaterSettings = z.object({
  /** CitizenLab test lists: a directory in the CitizenLab layout, or a git repository URL to clone. */
  CITIZENLAB_SOURCE: source.optional(),
  /** ooni/blocking-fingerprints: a directory, or a base URL, holding fingerprints_{dns,http}.csv. */
  FINGERPRINTS_SOURCE: source.optional(),
  /** ASN metadata: a file or URL (JSON as upstream's all_as_org_map.json, or CSV; .gz allowed). */
  ASNMETA_SOURCE: source.optional(),
  GEOIP_COUNTRY_URL: httpUrlTemplate.optional(),
  GEOIP_ASN_URL: httpUrlTemplate.optional(),
  /** Addresses a downloaded database must know (a country / an ASN) before it replaces the live one. */
  GEOIP_VERIFY_IPS: list
    .pipe(z.array(z.string()).min(1).refine((a) => a.every((ip) => isIP(ip) !== 0), { error: "must be a comma-separated list of IP addresses" }))
    .default(["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"]),
  /** Refuse an update that leaves a table with fewer rows than this fraction of the live one (0 = off). */
  UPDATER_MIN_KEEP_RATIO: z.coerce.number().min(0).max(1).default(0.5),
  UPDATER_HTTP_TIMEOUT_S: z.coerce.number().positive().default(300),
  UPDATER_MAX_DOWNLOAD_MB: z.coerce.number().positive().default(512),
});

export interface UpdatersConfig {
  citizenlabSource: string | null;
  fingerprintsSource: string | null;
  asnmetaSource: string | null;
  geoip: { countryUrl: string | null; asnUrl: string | null; verifyIps: string[] };
  minKeepRatio: number;
  httpTimeoutMs: number;
  maxDownloadBytes: number;
}

/** A local path is resolved against the working directory; URLs are kept as they are. */
function resolveSource(v: string | undefined): string | null {
  if (v === undefined) return null;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^[^/]+@[^:]+:/.test(v) ? v : path.resolve(v);
}

export function updatersConfig(env: z.infer<typeof UpdaterSettings>): UpdatersConfig {
  return {
    citizenlabSource: resolveSource(env.CITIZENLAB_SOURCE),
    fingerprintsSource: resolveSource(env.FINGERPRINTS_SOURCE),
    asnmetaSource: resolveSource(env.ASNMETA_SOURCE),
    geoip: { countryUrl: env.GEOIP_COUNTRY_URL ?? null, asnUrl: env.GEOIP_ASN_URL ?? null, verifyIps: env.GEOIP_VERIFY_IPS },
    minKeepRatio: env.UPDATER_MIN_KEEP_RATIO,
    httpTimeoutMs: Math.round(env.UPDATER_HTTP_TIMEOUT_S * 1000),
    maxDownloadBytes: Math.round(env.UPDATER_MAX_DOWNLOAD_MB * 1024 * 1024),
  };
}
