import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

// Starts the real origin (`cli.ts serve`) as its own process on a random loopback port, with its
// own temp DATA_DIR (embedded chDB + local blob store). One process per origin because chDB binds
// one data directory per process, and because tests kill it with SIGKILL.

export const repoRoot = path.resolve(import.meta.dirname, "../..");

export interface OriginProcess {
  url: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  logs: string[];
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit (the data directory stays). */
  kill(): Promise<void>;
  /** Remove the data directory (after stop/kill). */
  cleanup(): void;
}

export interface OriginOptions {
  env?: Record<string, string>;
  dataDir?: string;
  port?: number;
  startTimeoutMs?: number;
}

/** Extra node flags for the origin, e.g. ORIGIN_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it under a bench. */
function nodeArgs(): string[] {
  return (process.env.ORIGIN_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
}

export async function startOriginProcess(opts: OriginOptions = {}): Promise<OriginProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), "ooni-edge-origin-"));
  const child = spawn(
    process.execPath,
    [...nodeArgs(), "--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), "serve", "--port", String(opts.port ?? 0), "--host", "127.0.0.1"],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        LOG_LEVEL: "warn",
        DATA_DIR: dataDir,
        ...opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const listening = new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`origin did not start within ${opts.startTimeoutMs ?? 60_000} ms:\n${logs.join("\n")}`)),
      opts.startTimeoutMs ?? 60_000,
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logs.push(line);
      if (logs.length > 2000) logs.shift();
      if (line.includes('"event":"listening"')) {
        clearTimeout(timer);
        const { url, port } = JSON.parse(line) as { url: string; port: number };
        resolve({ url, port });
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => logs.push(line));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`origin exited with ${code} before listening:\n${logs.join("\n")}`));
    });
  });
  const { url, port } = await listening;
  return {
    url,
    port,
    dataDir,
    child,
    logs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    cleanup() {
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
