import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { loadBridgeConfig, renderWorkerConfig, validateBridgeConfig, type BridgeConfig } from "../../bridge-config/load";
import { freePort } from "../support/free-port";
import { repoRoot } from "../support/origin-process";

// The real edge Worker under `wrangler dev` (workerd) on a random loopback port, configured from
// bridge-config/bridge.toml but forwarding to the given origin. Loopback only: wrangler's metrics
// and Cloudflare lookups are switched off.

export interface EdgeProcess {
  url: string;
  port: number;
  logs: string[];
  /** wrangler's process (its group holds workerd). */
  child: ChildProcess;
  stop(): Promise<void>;
}

export { freePort };

/** Helpers of equal weight, neither canary nor drained, ids `<prefix>-<i>`: the pool the load, fault and interop stacks balance. */
export function helperPool(urls: readonly string[], prefix = "th"): BridgeConfig["helpers"]["pool"] {
  return urls.map((url, i) => ({ id: `${prefix}-${i}`, url, weight: 1, canary: false, drained: false }));
}

export interface EdgeOptions {
  originUrl: string;
  edgeSecret: string;
  startTimeoutMs?: number;
  /** Changes to the default bridge configuration (after origin.url is set), e.g. a pool of real helpers or shorter timeouts. */
  configure?: (config: BridgeConfig) => BridgeConfig;
  /** More Worker vars, e.g. ORIGIN_TIMEOUT_MS. */
  vars?: Record<string, string>;
  /** Expose `/cdn-cgi/handler/scheduled` (the cron trigger: a round of helper health checks). */
  testScheduled?: boolean;
  /**
   * The same runtime without the DevTools inspector (test/support/wrangler-dev-main.ts): for load,
   * where wrangler's inspector proxy cannot keep up with hundreds of concurrent requests.
   */
  noInspector?: boolean;
  /**
   * With noInspector: "miniflare" serves the same bundle and bindings from Miniflare directly (the
   * same workerd, without wrangler's proxy workerd in front, whose hop to the Worker breaks now and
   * then under load); "wrangler" (the default) is `wrangler dev`'s runtime.
   */
  runtime?: "wrangler" | "miniflare";
}

export async function startEdgeProcess(opts: EdgeOptions): Promise<EdgeProcess> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const persist = mkdtempSync(path.join(tmpdir(), "ooni-edge-wrangler-"));
  const bridge = loadBridgeConfig();
  const withOrigin: BridgeConfig = { ...bridge, origin: { ...bridge.origin, url: opts.originUrl } };
  const workerConfig = validateBridgeConfig(opts.configure ? opts.configure(withOrigin) : withOrigin, "test");
  const extraVars = Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const logLevel = process.env.EDGE_LOG_LEVEL ?? "warn";
  const launcher = opts.noInspector
    ? [
        process.execPath,
        [
          "--import", "tsx",
          path.join(repoRoot, "test/support/wrangler-dev-main.ts"),
          JSON.stringify({
            configPath: path.join(repoRoot, "wrangler.toml"),
            port,
            persist,
            logLevel,
            testScheduled: opts.testScheduled ?? false,
            vars: { BRIDGE_CONFIG: renderWorkerConfig(workerConfig), EDGE_SHARED_SECRET: opts.edgeSecret, ...opts.vars },
            runtime: opts.runtime ?? "wrangler",
          }),
        ],
      ] as const
    : null;
  const child: ChildProcess = spawn(
    launcher ? launcher[0] : path.join(repoRoot, "node_modules/.bin/wrangler"),
    launcher ? [...launcher[1]] : [
      "dev",
      "--config", path.join(repoRoot, "wrangler.toml"),
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--inspector-port", String(inspectorPort),
      "--persist-to", persist,
      "--var", `BRIDGE_CONFIG:${renderWorkerConfig(workerConfig)}`,
      "--var", `EDGE_SHARED_SECRET:${opts.edgeSecret}`,
      ...extraVars,
      ...(opts.testScheduled ? ["--test-scheduled"] : []),
      "--show-interactive-dev-session=false",
      // EDGE_LOG_LEVEL=debug shows wrangler's proxy and reloads when a test needs diagnosing.
      "--log-level", logLevel,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so workerd stops with it
    },
  );
  const logs: string[] = [];
  for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on("line", (l) => logs.push(l));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${logs.join("\n")}`);
    try {
      const res = await fetch(`${url}/robots.txt`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      process.kill(-child.pid!, "SIGKILL");
      throw new Error(`wrangler dev did not answer within the timeout:\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    logs,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, "SIGTERM");
        } catch {
          child.kill("SIGTERM");
        }
        const killTimer = setTimeout(() => {
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            // gone already
          }
        }, 5000);
        await exited;
        clearTimeout(killTimer);
      }
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
