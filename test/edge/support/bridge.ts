// Test harness inside workerd: the Worker's own handlers called with a bridge configuration of the
// test's choosing (fresh helpers, a fake origin, a unique name so its Durable Object state is its
// own), and the control server of the loopback fakes started by the globalSetup.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { validateBridgeConfig, type BridgeConfig, type BridgeConfigInput } from "../../../bridge-config/schema";
import worker from "../../../edge/src/index";
import type { EdgeEnv } from "../../../edge/src/env";

const control = inject("edgeControlUrl");

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${control}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export type HelperMode = "ok" | "fail-500" | "busy-503" | "reset" | "reset-mid-body" | "hang" | "refuse";
export interface FakeHelperRef {
  id: string;
  url: string;
}

export const fakes = {
  async helpers(count: number, tag: string): Promise<FakeHelperRef[]> {
    return (await call<{ helpers: FakeHelperRef[] }>("POST", "/helpers", { count, tag })).helpers;
  },
  async setHelper(id: string, mode: HelperMode) {
    await call("POST", `/helpers/${id}`, { mode });
  },
  async helper(id: string) {
    return call<{ requests: number; served: number; last_body: string | null; last_headers: Record<string, string> | null }>("GET", `/helpers/${id}`);
  },
  async origin(): Promise<{ id: string; url: string }> {
    return call("POST", "/origins");
  },
  async setOrigin(
    id: string,
    change: { mode?: "ok" | "fail-500" | "refuse" | "hang" | "slow"; slow_ms?: number; routes?: { path: string; status?: number; headers?: Record<string, string>; body?: string }[] },
  ) {
    await call("POST", `/origins/${id}`, change);
  },
  async originHits(id: string): Promise<{ hits: Record<string, number>; requests: { method: string; url: string; headers: Record<string, string> }[] }> {
    return call("GET", `/origins/${id}`);
  },
  async render(html: string) {
    return call<{
      title: string;
      heading: string | null;
      poolVisible: boolean;
      poolHeaders: string[];
      pool: string[][];
      failures: string[][];
      hitRatio: string | null;
    }>("POST", "/render", { html });
  },
};

let names = 0;
/** A bridge name no other test uses: its Durable Object (health, generations, counters) starts empty. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(names++).toString(36)}`.slice(0, 40);
}

export const TOKENS = { status: "status-token-for-tests-0123", purge: "purge-token-for-tests-45678" };

/** A validated configuration: the given parts over a minimal base (no cache routes unless given). */
export function bridgeConfig(parts: Partial<BridgeConfigInput> & { origin: BridgeConfigInput["origin"] }): BridgeConfig {
  return validateBridgeConfig({ version: 1, admin: { status_token: TOKENS.status, purge_token: TOKENS.purge }, ...parts }, "test");
}

export interface TestBridge {
  config: BridgeConfig;
  env: EdgeEnv;
  /** The Worker's fetch handler; background work (waitUntil) is collected for settle(). */
  fetch(input: string, init?: RequestInit): Promise<Response>;
  /** A probe from `ip` (CF-Connecting-IP, as Cloudflare sets it). */
  probe(ip: string, body?: string, url?: string): Promise<Response>;
  /** One cron round (active health checks). */
  cron(): Promise<void>;
  /** Waits for every waitUntil() of the requests so far (cache refreshes, failure reports). */
  settle(): Promise<void>;
  status(): Promise<StatusJson>;
}

export interface StatusJson {
  bridge: string;
  served_total: number;
  pool: {
    id: string;
    url: string;
    weight: number;
    state: "up" | "down" | "drained";
    expected_share: number;
    observed_share: number | null;
    served: number;
    consecutive_failures: number;
    last_check: { ok: boolean; detail: string } | null;
  }[];
  recent_failures: { helper: string; source: string; kind: string; detail: string }[];
  cache: { hit: number; stale: number; miss: number; bypass: number; hit_ratio: number | null; routes: { prefix: string; generation: number }[] };
}

// The first Durable Object call of a test run loads the Worker's modules into the object's context
// (seconds, under vitest only); doing it once here keeps it out of the requests under test, which
// would otherwise give up waiting for the shared state.
let warm: Promise<unknown> | null = null;
function warmState(): Promise<unknown> {
  warm ??= env.BRIDGE_STATE.get(env.BRIDGE_STATE.idFromName("warm-up")).sync({ ids: [] }, null);
  return warm;
}

export function bridge(config: BridgeConfig): TestBridge {
  // ORIGIN_URL would override the configuration's origin with the real one.
  const bridgeEnv = { ...(env as unknown as EdgeEnv), BRIDGE_CONFIG: JSON.stringify(config), ORIGIN_URL: undefined } as EdgeEnv;
  const contexts: ExecutionContext[] = [];
  const self: TestBridge = {
    config,
    env: bridgeEnv,
    async fetch(input, init) {
      await warmState();
      const ctx = createExecutionContext();
      contexts.push(ctx);
      return worker.fetch(new Request(input, init), bridgeEnv, ctx);
    },
    probe(ip, body = '{"http_request":"https://example.org/","http_request_headers":{},"tcp_connect":[]}', url = "https://bridge.example/") {
      return self.fetch(url, { method: "POST", body, headers: { "cf-connecting-ip": ip, "content-type": "application/json", "user-agent": "ooniprobe-cli/3.31.0" } });
    },
    async cron() {
      await warmState();
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), bridgeEnv, ctx);
      await waitOnExecutionContext(ctx);
    },
    async settle() {
      while (contexts.length) await waitOnExecutionContext(contexts.shift()!);
    },
    async status() {
      const res = await self.fetch("https://any.example/__bridge/status?format=json", { headers: { authorization: `Bearer ${TOKENS.status}` } });
      if (res.status !== 200) throw new Error(`status page: ${res.status} ${await res.text()}`);
      return (await res.json()) as StatusJson;
    },
  };
  return self;
}

/** A deterministic stream of random IPv4/IPv6 client addresses (xorshift; the seed makes runs repeatable). */
export function addresses(count: number, seed: number, v6Share = 0.2): string[] {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (next() / 4294967296 < v6Share) {
      const g = Array.from({ length: 8 }, () => (next() & 0xffff).toString(16));
      out.push(g.join(":"));
    } else {
      const v = next();
      out.push(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`);
    }
  }
  return out;
}
