// Entry point of the edge process for tests (test/contract/edge-process.ts): the Worker under the
// same local runtime as `wrangler dev` (workerd, wrangler's dev proxy), started through wrangler's
// programmatic API so that the DevTools inspector can be left off. With it on, wrangler forwards
// every request's network events (bodies included) to its Node process, which under ~100+
// concurrent clients fell behind and exited — a local-tooling limit, not the Worker's.
//
// argv[2]: JSON {configPath, port, persist, logLevel, testScheduled, vars: {NAME: value}}.
import { unstable_startWorker } from "wrangler";

interface Args {
  configPath: string;
  port: number;
  persist: string;
  logLevel: "debug" | "info" | "log" | "warn" | "error" | "none";
  testScheduled: boolean;
  vars: Record<string, string>;
}

const args = JSON.parse(process.argv[2]!) as Args;
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
process.stdout.write(`${JSON.stringify({ event: "listening", url: String(await worker.url) })}\n`);
const stop = () => void worker.dispose().finally(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
