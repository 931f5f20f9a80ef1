import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { createInterface } from "node:readline";
import { ConfigError, loadConfig } from "../origin/src/config";

// `npm start`: the whole system on embedded defaults — the origin (embedded chDB, local blob store,
// fixture GeoIP) and the edge Worker under `wrangler dev` in workerd — then waits for both to
// answer, prints the URLs, and stops both on Ctrl-C / SIGTERM.

const repoRoot = path.resolve(import.meta.dirname, "..");
const children: ChildProcess[] = [];
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

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
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

  const wrangler = spawn(
    path.join(repoRoot, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--config", path.join(repoRoot, "wrangler.toml"),
      "--ip", "127.0.0.1",
      "--port", String(config.edgePort),
      "--var", `ORIGIN_URL:${originUrl}`,
      "--var", `EDGE_SHARED_SECRET:${edgeSecret}`,
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
  process.stdout.write(
    `\nooni-edge is running\n  edge (bridge, any hostname): ${edgeUrl}\n  origin:                      ${originUrl}\n` +
      `  data directory:              ${config.dataDir}\nPress Ctrl-C to stop.\n\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`npm start failed: ${(err as Error).message}\n`);
  for (const child of children) signalGroup(child, "SIGKILL");
  process.exit(1);
});
