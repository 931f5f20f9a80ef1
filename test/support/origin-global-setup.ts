import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import type { TestProject } from "vitest/node";
import { run as bridgeCli } from "../../bridge-config/cli";
import { defaultBridgeConfigPath, loadBridgeConfig, renderWorkerConfig, validateBridgeConfig, type BridgeConfig } from "../../bridge-config/load";
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
  // The status-page test renders in Debian's Chromium; without it that one test skips and says so.
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  project.provide("chromiumPath", existsSync(chromium) ? chromium : null);
  // The Worker's BRIDGE_CONFIG binding (vitest.config.ts): the default file, with this origin, these
  // helpers and these tokens.
  const base = loadBridgeConfig(defaultBridgeConfigPath);
  const config = { ...base, name: "vitest", origin: { ...base.origin, url: origin.url }, helpers: { ...base.helpers, pool }, admin: { status_token: tokens.status, purge_token: tokens.purge } };
  project.provide("bridgeConfig", renderWorkerConfig(validateBridgeConfig(config, "test bridge configuration")));
  project.provide("renderedBridge", renderWithNewDomain(repoRoot(), (c) => ({ ...c, name: "vitest-domains", origin: { ...c.origin, url: origin!.url }, helpers: { ...c.helpers, pool: pool.map((h) => ({ ...h, canary: false, drained: false })) } })));
}

const repoRoot = () => path.resolve(import.meta.dirname, "../..");

/**
 * What an operator does to add a bridge domain — `add-zone`, `add-domain`, `render` on copies of the
 * default files — and the BRIDGE_CONFIG the rendered wrangler.toml gives the Worker (pointed at the
 * test origin and helpers, as for the default configuration). test/edge/domains.test.ts uses it.
 */
function renderWithNewDomain(root: string, localise: (c: BridgeConfig) => BridgeConfig): ProvidedRendered {
  const dir = mkdtempSync(path.join(tmpdir(), "bridge-render-"));
  try {
    const config = path.join(dir, "bridge.toml");
    const wrangler = path.join(dir, "wrangler.toml");
    copyFileSync(path.join(root, "bridge-config/bridge.toml"), config);
    copyFileSync(path.join(root, "wrangler.toml"), wrangler);
    const hostname = "new-bridge.example.net";
    for (const args of [["add-zone", "example.net"], ["add-domain", hostname], ["render"]]) {
      const code = bridgeCli(["--config", config, "--wrangler", wrangler, ...args], () => undefined);
      if (code !== 0) throw new Error(`npm run bridge -- ${args.join(" ")} failed (exit ${code})`);
    }
    const rendered = parseToml(readFileSync(wrangler, "utf8")) as { routes: { pattern: string; zone_name: string }[]; vars: { BRIDGE_CONFIG: string } };
    const worker = localise(validateBridgeConfig(JSON.parse(rendered.vars.BRIDGE_CONFIG), "rendered wrangler.toml"));
    return { hostname, routes: rendered.routes, bridgeConfig: renderWorkerConfig(validateBridgeConfig(worker, "rendered wrangler.toml")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ProvidedRendered {
  hostname: string;
  routes: { pattern: string; zone_name: string }[];
  bridgeConfig: string;
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
    /** Chromium for rendering tests, or null when it is not installed. */
    chromiumPath: string | null;
    /** The Worker's BRIDGE_CONFIG binding. */
    bridgeConfig: string;
    /** The default file after `add-domain` + `render` (renderWithNewDomain). */
    renderedBridge: ProvidedRendered;
  }
}
