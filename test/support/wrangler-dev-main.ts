// Entry point of the edge process for tests (test/contract/edge-process.ts), without the DevTools
// inspector (with it on, wrangler forwards every request's network events, bodies included, to its
// Node process, which under ~100+ concurrent clients fell behind and exited). Two runtimes:
//
// - "wrangler": the Worker under the same local runtime as `wrangler dev`, through wrangler's
//   programmatic API: a proxy workerd (wrangler's ProxyWorker, one Durable Object every request
//   goes through) in front of a second workerd that runs the Worker.
// - "miniflare": the same workerd runtime and the same bundle (`wrangler deploy --dry-run`), the
//   bindings wrangler derives from wrangler.toml (unstable_getMiniflareWorkerOptions: the Durable
//   Object, vars), but served by Miniflare directly: clients reach the workerd that runs the Worker.
//   For load and faults: under ~50+ concurrent clients, the hop between wrangler's proxy workerd
//   and the Worker's workerd breaks now and then ("Network connection lost." / "stream disconnected
//   prematurely" in workerd's log), and the proxy answers a non-JSON 500 from miniflare's entry
//   worker, a 503 "Your worker restarted mid-request" or closes the client's connection — failures
//   of the local tooling that no probe meets in production (docs/edge.md, tests and benchmark).
//
// argv[2]: JSON {configPath, port, persist, logLevel, testScheduled, vars: {NAME: value}, runtime}.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_startWorker } from "wrangler";

interface Args {
  configPath: string;
  port: number;
  persist: string;
  logLevel: "debug" | "info" | "log" | "warn" | "error" | "none";
  testScheduled: boolean;
  vars: Record<string, string>;
  runtime?: "wrangler" | "miniflare";
}

const args = JSON.parse(process.argv[2]!) as Args;

async function startWrangler(): Promise<{ url: string; dispose(): Promise<void> }> {
  const worker = await unstable_startWorker({
    config: args.configPath,
    bindings: Object.fromEntries(Object.entries(args.vars).map(([k, v]) => [k, { type: "plain_text" as const, value: v }])),
    dev: {
      server: { hostname: "127.0.0.1", port: args.port },
      inspector: false,
      persist: args.persist,
      logLevel: args.logLevel,
      watch: false,
      liveReload: false,
      testScheduled: args.testScheduled,
    },
  });
  await worker.ready;
  return { url: String(await worker.url), dispose: () => worker.dispose() };
}

const MINIFLARE_LEVELS: Record<Args["logLevel"], LogLevel> = {
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  log: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  none: LogLevel.NONE,
};

async function startMiniflare(): Promise<{ url: string; dispose(): Promise<void> }> {
  // wrangler's own bundle of the Worker (esbuild, the configuration's entry point and rules).
  const outdir = path.join(args.persist, "bundle");
  mkdirSync(outdir, { recursive: true });
  const wrangler = path.join(path.dirname(args.configPath), "node_modules/.bin/wrangler");
  execFileSync(wrangler, ["deploy", "--dry-run", "--config", args.configPath, "--outdir", outdir], {
    cwd: path.dirname(args.configPath),
    stdio: ["ignore", "ignore", "inherit"],
  });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(args.configPath);
  const mf = new Miniflare({
    ...workerOptions,
    name: "ooni-edge",
    modules: true,
    scriptPath: path.join(outdir, "index.js"),
    modulesRoot: outdir,
    // The configuration's vars, overridden by the test's (plain_text, like `--var`).
    bindings: { ...workerOptions.bindings, ...args.vars },
    host: "127.0.0.1",
    port: args.port,
    defaultPersistRoot: path.join(args.persist, "v3"),
    cf: false, // no lookup of Cloudflare's request.cf data: loopback only
    unsafeTriggerHandlers: args.testScheduled, // /cdn-cgi/handler/scheduled, as `--test-scheduled`
    log: new Log(MINIFLARE_LEVELS[args.logLevel]),
  });
  const url = await mf.ready;
  return { url: String(url), dispose: () => mf.dispose() };
}

const worker = args.runtime === "miniflare" ? await startMiniflare() : await startWrangler();
process.stdout.write(`${JSON.stringify({ event: "listening", url: worker.url })}\n`);
const stop = () => void worker.dispose().finally(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
