import { readFileSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ConfigError } from "../config";
import { PolicyEntry } from "../anoncred/policy";

// The files in PROBE_CONFIG_DIR (see origin/fixtures/probe/README.md). Each is validated when the
// origin starts — a bad file stops it, naming the file — and re-read when its mtime changes
// (checked at most every few seconds, off the request path). A changed file that fails
// validation is logged and the previous version keeps being served.

const ServiceEntry = z.strictObject({
  address: z.string().min(1).max(500),
  type: z.string().regex(/^[a-z]{2,20}$/),
  front: z.string().min(1).max(255).optional(),
  /** Part of the per-client test-helper rotation group (docs/probe-services.md). */
  rotate: z.boolean().optional(),
});
export type ServiceEntry = z.infer<typeof ServiceEntry>;

export const ServicesFile = z.object({
  test_helpers: z.record(z.string().regex(/^[a-z0-9-]{1,40}$/), z.array(ServiceEntry)),
  collectors: z.array(ServiceEntry),
  features: z.record(z.string().min(1).max(60), z.boolean()),
});
export type ServicesFile = z.infer<typeof ServicesFile>;

export const TorTargetsFile = z.record(
  z.string().min(1).max(200),
  z.looseObject({
    address: z.string().min(1),
    name: z.string(),
    params: z.record(z.string(), z.array(z.string())).nullable().optional(),
    protocol: z.string().min(1),
    source: z.string().optional(),
  }),
);

export const PsiphonFile = z.record(z.string(), z.unknown());

export const VpnFile = z.record(
  z.string().regex(/^[a-z0-9_-]{1,40}$/),
  z.object({
    config: z.object({
      ca: z.string(),
      cert: z.string().optional(),
      key: z.string().optional(),
      username: z.string().optional(),
      password: z.string().optional(),
    }),
    endpoints: z.array(z.string()),
    date_updated: z.string(),
  }),
);

// The submission policy of the anonymous-credentials manifest. The public parameters and the
// version come from the key ring (anoncred/keys.ts), so an older file's `public_parameters` and
// `meta` are accepted and ignored. As upstream, the last entry must be the catch-all.
export const ManifestFile = z.object({
  manifest: z.object({
    nym_scope: z.string().min(1).max(200),
    submission_policy: z
      .array(PolicyEntry)
      .min(1)
      .max(10_000)
      .refine((p) => p[p.length - 1]?.match.probe_cc === "*" && p[p.length - 1]?.match.probe_asn === "*", {
        error: 'the last entry must be the catch-all (match probe_cc "*" and probe_asn "*")',
      }),
    public_parameters: z.string().optional(),
  }),
  meta: z.record(z.string(), z.unknown()).optional(),
});

const RECHECK_MS = 5_000;

export class WatchedJsonFile<T> {
  private value: T;
  private mtimeMs: number;
  private checkedAt = Date.now();
  private checking = false;

  constructor(
    readonly file: string,
    private readonly schema: z.ZodType<T>,
    private readonly onReloadError: (file: string, err: Error) => void,
  ) {
    // Synchronous on purpose: this runs once at start-up, and a failure must stop the process.
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
      this.mtimeMs = statSync(file).mtimeMs;
    } catch (err) {
      throw new ConfigError("PROBE_CONFIG_DIR", `file ${file} cannot be read as JSON: ${(err as Error).message}`);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError("PROBE_CONFIG_DIR", `file ${file} is invalid at ${issue.path.join(".") || "top level"}: ${issue.message}`);
    }
    this.value = parsed.data;
  }

  /** The current content; may schedule a background check for a newer file. */
  get(): T {
    if (!this.checking && Date.now() - this.checkedAt > RECHECK_MS) void this.recheck();
    return this.value;
  }

  async recheck(): Promise<void> {
    this.checking = true;
    this.checkedAt = Date.now();
    try {
      const st = await stat(this.file);
      if (st.mtimeMs === this.mtimeMs) return;
      const raw: unknown = JSON.parse(await readFile(this.file, "utf8"));
      this.value = this.schema.parse(raw);
      this.mtimeMs = st.mtimeMs;
    } catch (err) {
      this.onReloadError(this.file, err as Error);
    } finally {
      this.checking = false;
    }
  }
}

export interface ProbeConfigFiles {
  services: WatchedJsonFile<ServicesFile>;
  torTargets: WatchedJsonFile<z.infer<typeof TorTargetsFile>>;
  psiphon: WatchedJsonFile<z.infer<typeof PsiphonFile>>;
  vpn: WatchedJsonFile<z.infer<typeof VpnFile>>;
  manifest: WatchedJsonFile<z.infer<typeof ManifestFile>>;
}

export function openProbeConfigFiles(dir: string, onReloadError: (file: string, err: Error) => void): ProbeConfigFiles {
  const f = <T>(name: string, schema: z.ZodType<T>) => new WatchedJsonFile(path.join(dir, name), schema, onReloadError);
  return {
    services: f("services.json", ServicesFile),
    torTargets: f("tor-targets.json", TorTargetsFile),
    psiphon: f("psiphon-config.json", PsiphonFile),
    vpn: f("vpn-config.json", VpnFile),
    manifest: f("manifest.json", ManifestFile),
  };
}
