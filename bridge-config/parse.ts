// TOML text → validated configuration. Pure (smol-toml and zod only): the Node loader uses it, and
// the edge tests run it inside workerd. The Worker itself never parses TOML (schema.ts only).
//
// One file describes one or more environments. The top level is the default environment (what
// `npm start` and a plain `wrangler deploy` use); `[env.<name>]` tables describe others. An
// environment table overrides Worker settings key by key (tables merge, arrays and values replace);
// its zones, domains and helper pool are its own and never inherited, so staging cannot silently
// send clients to production helpers or claim production hostnames.
import { parse as parseToml, TomlError } from "smol-toml";
import { deploymentSchema, envNamePattern, type Deployment } from "./deploy-schema";
import { BridgeConfigError, describeIssues, validateBridgeConfig, bridgeConfigSchema, type BridgeConfig } from "./schema";

export { BridgeConfigError, validateBridgeConfig };

/** Keys of a file (or of an `[env.*]` table) that describe the deployment, not the Worker. */
const DEPLOYMENT_KEYS = ["zones", "domains"] as const;

export interface BridgeEnvironment extends Deployment {
  /** null for the top level (the default environment), else the `[env.<name>]` key. */
  readonly env: string | null;
  readonly config: BridgeConfig;
}

export interface BridgeFile {
  /** The TOML as decoded, for edits that must preserve everything else. */
  readonly table: Record<string, unknown>;
  readonly environments: readonly BridgeEnvironment[];
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

function decode(text: string, source: string): Table {
  try {
    return parseToml(text) as Table;
  } catch (err) {
    const line = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : "";
    throw new BridgeConfigError(source, [`not valid TOML${line}: ${(err as Error).message.split("\n")[0]}`]);
  }
}

function without(table: Table, keys: readonly string[]): Table {
  return Object.fromEntries(Object.entries(table).filter(([k]) => !keys.includes(k)));
}

/** Tables merge; anything else in `over` replaces. */
function merge(base: Table, over: Table): Table {
  const out: Table = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isTable(v) && isTable(out[k]) ? merge(out[k] as Table, v) : v;
  return out;
}

function prefixed(prefix: string, problems: string[]): string[] {
  return problems.map((p) => (prefix ? `${prefix}.${p}` : p));
}

function validateDeployment(table: Table, prefix: string, problems: string[]): Deployment {
  const result = deploymentSchema.safeParse(Object.fromEntries(DEPLOYMENT_KEYS.filter((k) => k in table).map((k) => [k, table[k]])));
  if (result.success) return result.data;
  problems.push(...prefixed(prefix, describeIssues(result.error)));
  return { zones: [], domains: [] };
}

function validateWorker(value: Table, prefix: string, problems: string[]): BridgeConfig | null {
  const result = bridgeConfigSchema.safeParse(value);
  if (result.success) return result.data;
  problems.push(...prefixed(prefix, describeIssues(result.error)));
  return null;
}

/** Every environment of a decoded file, validated; all problems of all environments at once. */
export function validateBridgeFile(table: Table, source: string): BridgeFile {
  const problems: string[] = [];
  const top = without(table, [...DEPLOYMENT_KEYS, "env"]);
  const environments: BridgeEnvironment[] = [];
  const topConfig = validateWorker(top, "", problems);
  const topDeployment = validateDeployment(table, "", problems);
  if (topConfig) environments.push({ env: null, config: topConfig, ...topDeployment });

  const envs = table.env ?? {};
  if (!isTable(envs)) problems.push("env: must be a table of environments ([env.staging], [env.production], …)");
  else {
    for (const [name, value] of Object.entries(envs)) {
      if (!envNamePattern.test(name)) {
        problems.push(`env.${name}: environment names are lowercase letters, digits and - (1–32), starting with a letter`);
        continue;
      }
      if (!isTable(value)) {
        problems.push(`env.${name}: must be a table ([env.${name}])`);
        continue;
      }
      const own = without(value, [...DEPLOYMENT_KEYS]);
      // The pool is per environment: drop the top level's before merging.
      const baseHelpers = isTable(top.helpers) ? { ...top.helpers, pool: [] } : { pool: [] };
      const merged = merge({ ...top, helpers: baseHelpers, name: `${typeof top.name === "string" ? top.name : "default"}-${name}`.slice(0, 40) }, own);
      const config = validateWorker(merged, `env.${name}`, problems);
      const deployment = validateDeployment(value, `env.${name}`, problems);
      if (config) environments.push({ env: name, config, ...deployment });
    }
  }
  if (problems.length) throw new BridgeConfigError(source, problems);
  return { table, environments };
}

export function parseBridgeFile(text: string, source = "(text)"): BridgeFile {
  return validateBridgeFile(decode(text, source), source);
}

/** The default (top-level) environment's Worker configuration. */
export function parseBridgeConfigToml(text: string, source = "(text)"): BridgeConfig {
  return parseBridgeFile(text, source).environments[0]!.config;
}

/** What the Worker gets in its BRIDGE_CONFIG binding: the validated config with every default filled in. */
export function renderWorkerConfig(config: BridgeConfig): string {
  return JSON.stringify(config);
}
