// Bindings the Worker reads. EDGE_SHARED_SECRET is a Worker secret in production
// (`wrangler secret put EDGE_SHARED_SECRET`) and a --var under `npm start`.
export interface EdgeEnv {
  ORIGIN_URL: string;
  ORIGIN_TIMEOUT_MS?: string;
  EDGE_SHARED_SECRET?: string;
}

export interface EdgeSettings {
  originUrl: URL;
  originTimeoutMs: number;
  edgeSecret: string | null;
}

export class EdgeConfigError extends Error {}

// Parsed per isolate and cached: bindings do not change while an isolate lives.
let cached: { env: EdgeEnv; settings: EdgeSettings } | null = null;

export function edgeSettings(env: EdgeEnv): EdgeSettings {
  if (cached?.env === env) return cached.settings;
  let originUrl: URL;
  try {
    originUrl = new URL(env.ORIGIN_URL);
  } catch {
    throw new EdgeConfigError("ORIGIN_URL is not a URL");
  }
  if (originUrl.protocol !== "http:" && originUrl.protocol !== "https:") {
    throw new EdgeConfigError("ORIGIN_URL must be http(s)");
  }
  const timeout = Number(env.ORIGIN_TIMEOUT_MS ?? "50000");
  if (!Number.isFinite(timeout) || timeout <= 0) throw new EdgeConfigError("ORIGIN_TIMEOUT_MS must be a positive number");
  const settings = { originUrl, originTimeoutMs: timeout, edgeSecret: env.EDGE_SHARED_SECRET || null };
  cached = { env, settings };
  return settings;
}
