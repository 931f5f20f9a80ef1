import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { z } from "zod";

// Anonymous-credential settings (merged into the origin's EnvSchema in config.ts;
// docs/anonymous-credentials.md, docs/configuration.md).

/** Where `.ci/run` and `npm run anoncred:install` put ooniauth-py (a venv, outside the clone). */
export const DEFAULT_VENV = path.join(homedir(), ".cache/ooni-edge/anoncred-venv");

export const AnonCredSettings = z.object({
  /** auto: on when ooniauth-py is found, off (with a warning saying what to install) when not. */
  ANONC_ENABLED: z.enum(["auto", "true", "false"]).default("auto"),
  /** The Python interpreter that has ooniauth-py; default: the venv above. */
  ANONC_PYTHON: z.string().trim().min(1).optional(),
  ANONC_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  ANONC_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  // The key ring as JSON (production: every origin host gets the same value from the secret
  // store). Named *_SECRET so `cli config` and configuration errors never print it.
  ANONC_KEYS_SECRET: z.string().trim().min(2).optional(),
  /** Oldest anonymous-credentials protocol version a submission may use (upstream's setting). */
  ANONC_MIN_PROTOCOL_VERSION: z.string().regex(/^\d+(\.\d+)*$/, { error: "must be a version such as 0.1.0" }).default("0.1.0"),
});

export interface AnonCredConfig {
  mode: "auto" | "on" | "off";
  /** null: none found (auto mode then runs with credentials off). */
  python: string | null;
  workers: number;
  timeoutMs: number;
  /** The key ring from the environment, or null: the file below. */
  keysSecret: string | null;
  keysFile: string;
  minProtocolVersion: string;
}

export function anonCredConfig(env: z.infer<typeof AnonCredSettings>, dataDir: string, cpus: number): AnonCredConfig {
  const venvPython = path.join(DEFAULT_VENV, "bin/python");
  return {
    mode: env.ANONC_ENABLED === "auto" ? "auto" : env.ANONC_ENABLED === "true" ? "on" : "off",
    python: env.ANONC_PYTHON ?? (existsSync(venvPython) ? venvPython : null),
    workers: env.ANONC_WORKERS ?? Math.max(1, Math.min(cpus, 4)),
    timeoutMs: env.ANONC_TIMEOUT_MS,
    keysSecret: env.ANONC_KEYS_SECRET ?? null,
    keysFile: path.join(dataDir, "secrets", "anoncred-keys.json"),
    minProtocolVersion: env.ANONC_MIN_PROTOCOL_VERSION,
  };
}
