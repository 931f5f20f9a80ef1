// Bindings the Worker reads, and the per-isolate runtime built from them. The bridge configuration
// arrives whole in BRIDGE_CONFIG (JSON rendered from a bridge-config/*.toml file by
// scripts/start.ts, the test config or bridge-config/render.ts); a few bindings override single settings so that secrets stay secrets.
import { BridgeConfigError, validateBridgeConfig, type BridgeConfig } from "../../bridge-config/schema";
import { compilePool, type CompiledPool } from "./balancer/pool";
import { compileCacheRoutes, type CacheRoutes } from "./cache/key";
import type { BridgeLegacyHelpers } from "#shared/edge-protocol";
import type { OriginSettings } from "./forward";
import { compileHostnames, type HostnameMatcher } from "./hostnames";
import type { BridgeState } from "./state/durable-object";
import { StateClient } from "./state/client";

export interface EdgeEnv {
  /** The validated bridge configuration as JSON (a string, or an object when set as a JSON [vars] entry). */
  BRIDGE_CONFIG?: string | object;
  BRIDGE_STATE: DurableObjectNamespace<BridgeState>;
  /** Optional overrides of origin.url / origin.timeout_ms (per deployment, e.g. staging). */
  ORIGIN_URL?: string;
  ORIGIN_TIMEOUT_MS?: string;
  /** Worker secrets: `wrangler secret put …`; they win over tokens written in the file. */
  EDGE_SHARED_SECRET?: string;
  BRIDGE_STATUS_TOKEN?: string;
  BRIDGE_PURGE_TOKEN?: string;
}

export class EdgeConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

export interface Runtime {
  readonly config: BridgeConfig;
  readonly origin: OriginSettings;
  readonly pool: CompiledPool;
  readonly helperHosts: HostnameMatcher;
  readonly cache: CacheRoutes;
  readonly state: StateClient;
  readonly statusToken: string | null;
  readonly purgeToken: string | null;
}

function build(env: EdgeEnv): Runtime {
  const raw = env.BRIDGE_CONFIG;
  if (raw === undefined || raw === "") throw new EdgeConfigError("BRIDGE_CONFIG is not set");
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new EdgeConfigError("BRIDGE_CONFIG is not JSON");
    }
  }
  let config: BridgeConfig;
  try {
    config = validateBridgeConfig(value, "BRIDGE_CONFIG");
  } catch (err) {
    if (err instanceof BridgeConfigError) throw new EdgeConfigError("BRIDGE_CONFIG is invalid", err.problems);
    throw err;
  }
  let originUrl: URL;
  try {
    originUrl = new URL(env.ORIGIN_URL || config.origin.url);
  } catch {
    throw new EdgeConfigError("ORIGIN_URL is not a URL");
  }
  if (originUrl.protocol !== "http:" && originUrl.protocol !== "https:") throw new EdgeConfigError("ORIGIN_URL must be http(s)");
  const timeoutMs = env.ORIGIN_TIMEOUT_MS ? Number(env.ORIGIN_TIMEOUT_MS) : config.origin.timeout_ms;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new EdgeConfigError("ORIGIN_TIMEOUT_MS must be a positive number");
  if (!env.BRIDGE_STATE) throw new EdgeConfigError("the BRIDGE_STATE Durable Object binding is missing (see wrangler.toml)");
  const pool = compilePool(config.helpers.pool);
  return {
    config,
    origin: {
      url: originUrl,
      timeoutMs,
      maxBodyBytes: config.origin.max_body_bytes,
      edgeSecret: env.EDGE_SHARED_SECRET || null,
      legacyHelpers: legacyHelpersHeader(config),
    },
    pool,
    helperHosts: compileHostnames(config.helpers.hostnames),
    cache: compileCacheRoutes(config.cache.routes, config.cache.tracking_params, config.name),
    state: new StateClient(config, pool),
    statusToken: env.BRIDGE_STATUS_TOKEN || config.admin.status_token || null,
    purgeToken: env.BRIDGE_PURGE_TOKEN || config.admin.purge_token || null,
  };
}

/** The bridge's legacy helpers as the origin reads them (#shared/edge-protocol), or null when there are none. */
function legacyHelpersHeader(config: BridgeConfig): string | null {
  const { tcp_echo, http_return_json_headers } = config.legacy_helpers;
  if (tcp_echo.length === 0 && http_return_json_headers.length === 0) return null;
  const value: BridgeLegacyHelpers = {};
  if (tcp_echo.length) value["tcp-echo"] = tcp_echo;
  if (http_return_json_headers.length) value["http-return-json-headers"] = http_return_json_headers.map((u) => u.replace(/\/+$/, ""));
  return JSON.stringify(value);
}

// Built once per isolate and configuration. The env object is usually the same between requests;
// when it is not, the configuration text (plus overrides) finds the runtime again, so counters and
// the state snapshot survive. Several configurations only happen in tests; the map stays small.
const byEnv = new WeakMap<object, Runtime>();
const byText = new Map<string, Runtime>();

export function runtimeFor(env: EdgeEnv): Runtime {
  const hit = byEnv.get(env);
  if (hit) return hit;
  const raw = typeof env.BRIDGE_CONFIG === "string" ? env.BRIDGE_CONFIG : JSON.stringify(env.BRIDGE_CONFIG ?? "");
  const text = [raw, env.ORIGIN_URL, env.ORIGIN_TIMEOUT_MS, env.EDGE_SHARED_SECRET, env.BRIDGE_STATUS_TOKEN, env.BRIDGE_PURGE_TOKEN].join("\u0000");
  let rt = byText.get(text);
  if (!rt) {
    rt = build(env);
    if (byText.size >= 32) byText.delete(byText.keys().next().value!);
    byText.set(text, rt);
  }
  byEnv.set(env, rt);
  return rt;
}
