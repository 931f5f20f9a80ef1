import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../../support/free-port";

// The Go web-connectivity helper (probe-cli's oohelperd, built by probe-cli.ts) on a loopback
// port. `systemResolver` and `loopbackIsPublic` turn on the interop patches (docs/interop.md);
// with both off it behaves exactly as upstream built it (DoH to a public resolver, loopback a bogon).

export interface OohelperdProcess {
  url: string;
  child: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

export async function startOohelperd(
  binary: string,
  opts: { systemResolver: boolean; loopbackIsPublic: boolean; wrap?: (cmd: string, args: string[]) => [string, string[]] },
): Promise<OohelperdProcess> {
  const [port, pprof] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
  if (opts.systemResolver) env.OOHELPERD_SYSTEM_RESOLVER = "1";
  if (opts.loopbackIsPublic) env.OONI_EDGE_INTEROP_LOOPBACK = "1";
  // `wrap`: the private resolv.conf namespace (resolv-namespace.ts), for names in no /etc/hosts line.
  const [cmd, args] = (opts.wrap ?? ((c, a) => [c, a]))(binary, ["-api-endpoint", `127.0.0.1:${port}`, "-pprof-endpoint", `127.0.0.1:${pprof}`]);
  const child = spawn(cmd, args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  const onData = (c: Buffer) => logs.push(...c.toString().split("\n").filter(Boolean));
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`oohelperd exited early:\n${logs.join("\n")}`);
    try {
      // Any answer means it is listening (GET is refused with 400).
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`oohelperd did not listen:\n${logs.join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    child,
    logs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
