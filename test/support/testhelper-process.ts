import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "./origin-process";

// A real test helper in its own process (test/support/testhelper-main.ts), so that a test can
// SIGKILL it in the middle of requests and start it again on the same port.

export interface HelperProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

export async function startHelperProcess(
  port = 0,
  startTimeoutMs = 30_000,
  opts: { wrap?: (cmd: string, args: string[]) => [string, string[]] } = {},
): Promise<HelperProcess> {
  // `wrap`: run it under another program (the interop suite's private resolv.conf namespace).
  const [cmd, args] = (opts.wrap ?? ((c, a) => [c, a]))(process.execPath, ["--import", "tsx", path.join(repoRoot, "test/support/testhelper-main.ts"), String(port)]);
  const child = spawn(cmd, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const listening = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`test helper did not start:\n${logs.join("\n")}`)), startTimeoutMs);
    createInterface({ input: child.stderr! }).on("line", (l) => logs.push(l));
    createInterface({ input: child.stdout! }).on("line", (l) => {
      logs.push(l);
      if (l.includes('"event":"listening"')) {
        clearTimeout(timer);
        resolve(JSON.parse(l) as { url: string; port: number });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`test helper exited before listening:\n${logs.join("\n")}`));
    });
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { ...listening, child, kill: () => signal("SIGKILL"), stop: () => signal("SIGTERM") };
}
