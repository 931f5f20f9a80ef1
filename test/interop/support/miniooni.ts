import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

// Runs the real miniooni (built by probe-cli.ts) against the interop stack and collects what it
// said. Its environment turns on the interop patches (docs/interop.md) and nothing else of ours.

export interface MinioooniRun {
  code: number | null;
  log: string;
  /** measurement_uids the probe reported ("Measurement URL: …/m/<uid>"). */
  uids: string[];
  seconds: number;
}

export interface MinioooniOptions {
  binary: string;
  /** http://<bridge name>:<port>, the probe-services URL. */
  probeServices: string;
  /** The suite's DNS responder (ip:port) for web_connectivity v0.5's public UDP resolver. */
  udpResolver: string;
  /** Addresses telegram measures instead of Telegram's data centres (the farm). */
  telegramDCs?: string;
  /** Runs it under another program: the private resolv.conf namespace (resolv-namespace.ts). */
  wrap?: (cmd: string, args: string[]) => [string, string[]];
  /** Probe state directory (kept between runs of one test file, like a real install). */
  home?: string;
  timeoutMs?: number;
}

export function newProbeHome(): string {
  return mkdtempSync(path.join(tmpdir(), "ooni-edge-miniooni-"));
}

export function runMiniooni(opts: MinioooniOptions, args: string[]): Promise<MinioooniRun> {
  const started = Date.now();
  const home = opts.home ?? newProbeHome();
  return new Promise((resolve, reject) => {
    const argv = ["--home", home, "--yes", "-o", path.join(home, "report.jsonl"), "--probe-services", opts.probeServices, ...args];
    const [cmd, cmdArgs] = (opts.wrap ?? ((c, a) => [c, a]))(opts.binary, argv);
    const child = spawn(cmd, cmdArgs, {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: home,
        OONI_EDGE_INTEROP_LOOPBACK: "1",
        OONI_EDGE_INTEROP_UDP_RESOLVER: opts.udpResolver,
        ...(opts.telegramDCs ? { OONI_EDGE_INTEROP_TELEGRAM_DCS: opts.telegramDCs } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => out.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 240_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const log = Buffer.concat(out).toString("utf8");
      const uids = [...log.matchAll(/Measurement URL: \S+\/m\/(\S+)/g)].map((m) => m[1]!);
      resolve({ code, log, uids, seconds: (Date.now() - started) / 1000 });
    });
  });
}
