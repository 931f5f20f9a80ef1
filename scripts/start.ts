import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { BridgeConfigError, bridgeConfigPath, loadBridgeConfig, renderWorkerConfig, validateBridgeConfig } from "../bridge-config/load";
import type { BridgeConfig } from "../bridge-config/schema";
import { ConfigError, loadConfig } from "../origin/src/config";
import { startJsonHeaders, startTcpEcho } from "../origin/src/legacy-helpers";
import { startTestHelper } from "../origin/src/testhelper";

// `npm start`: the whole system on embedded defaults — the origin (embedded chDB, local blob store,
// fixture GeoIP), the web-connectivity test helpers of the bridge pool that live on loopback, and
// the edge Worker under `wrangler dev` in workerd — then waits for them to answer, prints the URLs,
// and stops everything on Ctrl-C / SIGTERM. The bridge configuration is bridge-config/bridge.toml,
// or the file named by BRIDGE_CONFIG.

const repoRoot = path.resolve(import.meta.dirname, "..");
const children: ChildProcess[] = [];
const helpers: { url: string; close(): Promise<void> }[] = [];
/** How often the stand-in for the cron trigger runs the active health checks (Cloudflare: every minute). */
const HEALTH_CHECK_EVERY_MS = 30_000;
const quietWrangler = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

function prefixed(child: ChildProcess, name: string) {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
}

/** Each child runs in its own process group (detached) so workerd and other grandchildren stop too. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

async function waitFor(url: string, label: string, child: ChildProcess, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${label} exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500 || res.status === 503) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${label} did not answer at ${url} within ${timeoutMs / 1000} s`);
}

/** Pool helpers on this machine (http on a loopback address) are ours to run. */
function localHelper(url: string): { host: string; port: number } | null {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (u.protocol !== "http:" || !["127.0.0.1", "localhost", "::1"].includes(host)) return null;
  return { host, port: Number(u.port || 80) };
}

async function main() {
  let config;
  let bridge: BridgeConfig;
  const echoPort = z.coerce.number().int().min(1).max(65535).default(80).safeParse(process.env.TCP_ECHO_PORT || undefined);
  if (!echoPort.success) {
    process.stderr.write(`TCP_ECHO_PORT must be a port number (1–65535), got ${JSON.stringify(process.env.TCP_ECHO_PORT)}\n`);
    process.exit(78);
  }
  const tcpEchoPort = echoPort.data;
  const bridgeFile = bridgeConfigPath();
  try {
    config = loadConfig();
    bridge = loadBridgeConfig(bridgeFile);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof BridgeConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  // One secret per run unless the operator set one: the origin trusts the edge's X-Forwarded-For
  // only with it.
  const edgeSecret = config.edgeSharedSecret ?? randomBytes(24).toString("hex");
  const originUrl = `http://127.0.0.1:${config.origin.port}`;

  const origin = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), "serve"], {
    cwd: repoRoot,
    env: { ...process.env, EDGE_SHARED_SECRET: edgeSecret, ORIGIN_HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.push(origin);
  prefixed(origin, "origin");

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("stopping…\n");
    await Promise.all(helpers.map((h) => h.close().catch(() => undefined)));
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            signalGroup(child, "SIGTERM");
            setTimeout(() => signalGroup(child, "SIGKILL"), 15_000).unref();
          }),
      ),
    );
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));
  process.on("SIGHUP", () => void stopAll(0));
  // npm does not always pass SIGTERM on to its script: if our parent goes away, stop too rather
  // than leave an origin and workerd running.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stopAll(0);
  }, 1000).unref();
  origin.once("exit", (code) => {
    if (!stopping) {
      process.stderr.write(`origin exited (code ${code}); stopping\n`);
      void stopAll(code || 1);
    }
  });

  await waitFor(`${originUrl}/health`, "origin", origin);

  // The test helpers of the pool that live on loopback, in this process (the real web-connectivity
  // helper from origin/src/testhelper), so the local bridge balances between real helpers.
  for (const h of bridge.helpers.pool) {
    const local = localHelper(h.url);
    if (!local) continue;
    try {
      helpers.push(await startTestHelper({ host: local.host, port: local.port }));
    } catch (err) {
      throw new Error(`cannot start the local test helper ${h.id} on ${h.url}: ${(err as Error).message}`);
    }
  }

  // The legacy helpers of [legacy_helpers] that live on loopback (raw TCP: never in the Worker).
  // The probe dials tcp-echo on port 80 only; without the right to bind it, say so and go on.
  const legacyNotes: string[] = [];
  for (const host of bridge.legacy_helpers.tcp_echo) {
    if (!["127.0.0.1", "localhost", "::1"].includes(host)) continue;
    const port = tcpEchoPort;
    try {
      helpers.push(await startTcpEcho({ host: host === "localhost" ? "127.0.0.1" : host, port }));
    } catch (err) {
      legacyNotes.push(`tcp-echo on ${host}:${port} not started (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the probe dials port 80 — see docs/edge.md#legacy-helpers`);
    }
  }
  for (const url of bridge.legacy_helpers.http_return_json_headers) {
    const local = localHelper(url);
    if (!local) continue;
    try {
      helpers.push(await startJsonHeaders(local));
    } catch (err) {
      throw new Error(`cannot start the local http-return-json-headers helper on ${url}: ${(err as Error).message}`);
    }
  }

  // What the Worker gets: the file's configuration, pointed at the origin started above, with
  // per-run tokens when the file sets none.
  const generated = { status: !bridge.admin.status_token, purge: !bridge.admin.purge_token };
  const workerConfig = validateBridgeConfig(
    {
      ...bridge,
      origin: { ...bridge.origin, url: originUrl },
      admin: {
        status_token: bridge.admin.status_token ?? randomBytes(18).toString("hex"),
        purge_token: bridge.admin.purge_token ?? randomBytes(18).toString("hex"),
      },
    },
    bridgeFile,
  );

  const wrangler = spawn(
    path.join(repoRoot, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--config", path.join(repoRoot, "wrangler.toml"),
      "--ip", "127.0.0.1",
      "--port", String(config.edgePort),
      "--var", `BRIDGE_CONFIG:${renderWorkerConfig(workerConfig)}`,
      "--var", `EDGE_SHARED_SECRET:${edgeSecret}`,
      "--test-scheduled",
      "--show-interactive-dev-session=false",
      "--log-level", "warn",
    ],
    { cwd: repoRoot, env: { ...process.env, ...quietWrangler }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  children.push(wrangler);
  prefixed(wrangler, "edge");
  wrangler.once("exit", (code) => {
    if (!stopping) {
      process.stderr.write(`edge (wrangler dev) exited (code ${code}); stopping\n`);
      void stopAll(code || 1);
    }
  });

  const edgeUrl = `http://127.0.0.1:${config.edgePort}`;
  await waitFor(`${edgeUrl}/robots.txt`, "edge", wrangler);

  // wrangler dev does not fire cron triggers; this stands in for `crons = ["* * * * *"]`.
  const runHealthChecks = async () => {
    try {
      const res = await fetch(`${edgeUrl}/cdn-cgi/handler/scheduled`, { signal: AbortSignal.timeout(20_000) });
      await res.arrayBuffer();
      if (!res.ok) process.stderr.write(`[edge] health-check round answered ${res.status}\n`);
    } catch (err) {
      if (!stopping) process.stderr.write(`[edge] health-check round failed: ${(err as Error).message}\n`);
    }
  };
  await runHealthChecks();
  setInterval(() => void runHealthChecks(), HEALTH_CHECK_EVERY_MS).unref();

  const token = (value: string | undefined, made: boolean) => (made ? `${value} (made up for this run)` : "(from the configuration file)");
  process.stdout.write(
    `\nooni-edge is running\n  edge (bridge, any hostname): ${edgeUrl}\n  origin:                      ${originUrl}\n` +
      `  test helpers:                ${helpers.map((h) => h.url).join(", ") || "none on this machine"}\n` +
      legacyNotes.map((n) => `  note:                        ${n}\n`).join("") +
      `  bridge configuration:        ${bridgeFile}\n` +
      `  status page:                 ${edgeUrl}/__bridge/status (any user name, token as password)\n` +
      `  status token:                ${token(workerConfig.admin.status_token, generated.status)}\n` +
      `  purge token:                 ${token(workerConfig.admin.purge_token, generated.purge)}\n` +
      `  data directory:              ${config.dataDir}\nPress Ctrl-C to stop.\n\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`npm start failed: ${(err as Error).message}\n`);
  for (const child of children) signalGroup(child, "SIGKILL");
  process.exit(1);
});
