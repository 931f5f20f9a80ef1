import { randomBytes } from "node:crypto";
import { helperPool, startEdgeProcess, type EdgeProcess } from "../contract/edge-process";
import { startOriginProcess, type OriginProcess } from "./origin-process";
import { startSlowSite, type SlowSite } from "./slow-site";
import { startHelperProcess, type HelperProcess } from "./testhelper-process";

// The whole system on loopback for the load generator (test/support/load.ts): the real origin
// (embedded chDB, spool, fastpath), real test helpers in their own processes, a slow website for
// them to measure, and the real Worker balancing the helpers — in workerd under Miniflare directly,
// without wrangler's dev proxy in front (test/support/wrangler-dev-main.ts).

export interface LoadStack {
  origin: OriginProcess;
  edge: EdgeProcess;
  helpers: HelperProcess[];
  site: SlowSite;
  edgeSecret: string;
  stop(): Promise<void>;
}

export async function startLoadStack(opts: { helpers?: number; originEnv?: Record<string, string> } = {}): Promise<LoadStack> {
  const edgeSecret = randomBytes(24).toString("hex");
  const site = await startSlowSite(20, 120);
  const [origin, helpers] = await Promise.all([
    startOriginProcess({ env: { EDGE_SHARED_SECRET: edgeSecret, TIMERS_IN_ORIGIN: "false", ...opts.originEnv } }),
    Promise.all(Array.from({ length: opts.helpers ?? 2 }, () => startHelperProcess())),
  ]);
  const edge = await startEdgeProcess({
    originUrl: origin.url,
    edgeSecret,
    noInspector: true,
    runtime: "miniflare",
    configure: (c) => ({
      ...c,
      helpers: { ...c.helpers, pool: helperPool(helpers.map((h) => h.url)) },
    }),
  });
  return {
    origin,
    edge,
    helpers,
    site,
    edgeSecret,
    async stop() {
      await edge.stop();
      await Promise.all(helpers.map((h) => h.stop()));
      await origin.stop();
      origin.cleanup();
      await site.close();
    },
  };
}
