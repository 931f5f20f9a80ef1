import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { defaultBridgeConfigPath, loadBridgeConfig, renderWorkerConfig, validateBridgeConfig } from "../../bridge-config/load";
import { startEdgeUpstreams, type EdgeUpstreams } from "./edge-upstreams";
import { startOriginProcess, type OriginProcess } from "./origin-process";

// The edge tests run inside workerd; the Worker forwards to this real origin on loopback. Fake
// helpers and origins that fail on command (edge-upstreams.ts) sit next to it; the default bridge
// configuration's pool is three of those helpers.
let origin: OriginProcess | undefined;
let upstreams: EdgeUpstreams | undefined;

export async function setup(project: TestProject) {
  const edgeSecret = randomBytes(24).toString("hex");
  origin = await startOriginProcess({ env: { EDGE_SHARED_SECRET: edgeSecret } });
  project.provide("originUrl", origin.url);
  project.provide("edgeSecret", edgeSecret);

  upstreams = await startEdgeUpstreams();
  const made = await fetch(`${upstreams.controlUrl}/helpers`, { method: "POST", body: JSON.stringify({ count: 3, tag: "default" }) });
  const { helpers } = (await made.json()) as { helpers: { id: string; url: string }[] };
  const pool = helpers.map((h) => ({ ...h, weight: 1 }));
  const tokens = { status: randomBytes(18).toString("hex"), purge: randomBytes(18).toString("hex") };
  project.provide("edgeControlUrl", upstreams.controlUrl);
  project.provide("edgeHelpers", pool);
  project.provide("bridgeTokens", tokens);
  // The Worker's BRIDGE_CONFIG binding (vitest.config.ts): the default file, with this origin, these
  // helpers and these tokens.
  const base = loadBridgeConfig(defaultBridgeConfigPath);
  const config = { ...base, name: "vitest", origin: { ...base.origin, url: origin.url }, helpers: { ...base.helpers, pool }, admin: { status_token: tokens.status, purge_token: tokens.purge } };
  project.provide("bridgeConfig", renderWorkerConfig(validateBridgeConfig(config, "test bridge configuration")));
}

export async function teardown() {
  await upstreams?.close();
  await origin?.stop();
  origin?.cleanup();
}

declare module "vitest" {
  export interface ProvidedContext {
    originUrl: string;
    edgeSecret: string;
    /** Control server of the fake helpers/origins and the Chromium renderer (test/support/edge-upstreams.ts). */
    edgeControlUrl: string;
    /** The default test configuration's helper pool. */
    edgeHelpers: { id: string; url: string; weight: number }[];
    bridgeTokens: { status: string; purge: string };
    /** The Worker's BRIDGE_CONFIG binding. */
    bridgeConfig: string;
  }
}
