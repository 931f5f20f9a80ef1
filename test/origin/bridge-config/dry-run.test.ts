import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, Workspace } from "./cli-harness";

// The rendered wrangler.toml deploys with standard wrangler: `wrangler deploy --dry-run` bundles the
// Worker and checks the configuration without an account. Outbound HTTP goes to a dead proxy, so a
// wrangler that tried to reach Cloudflare would fail here rather than quietly need the network.
const w = new Workspace("bridge-config/examples/production.toml");
afterAll(() => w.cleanup());

function dryRun(env: string) {
  const outdir = path.join(w.dir, `out-${env || "top"}`);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CLOUDFLARE_") && !k.startsWith("WRANGLER_")));
  const r = spawnSync(path.join(repoRoot, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir, `--env=${env}`], {
    cwd: w.dir,
    encoding: "utf8",
    timeout: 170_000,
    env: {
      ...clean,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      WRANGLER_LOG_PATH: path.join(w.dir, "logs"),
    },
  });
  return { ...r, outdir };
}

describe("wrangler deploy --dry-run on the rendered configuration", () => {
  it("bundles the top level and the staging environment offline", { timeout: 360_000 }, () => {
    const render = w.run("render");
    expect(render.code, render.stderr).toBe(0);
    // The copy lives outside the repository: point `main` back at the Worker's source.
    const text = readFileSync(w.wrangler, "utf8").replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(repoRoot, "edge/src/index.ts"))}`);
    writeFileSync(w.wrangler, text);

    for (const env of ["", "staging"]) {
      const r = dryRun(env);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain("--dry-run: exiting now.");
      expect(r.stdout).toContain("env.BRIDGE_STATE (BridgeState)");
      expect(r.stdout).toContain(env === "staging" ? '"name": "staging"' : '"name": "prod"');
      expect(existsSync(path.join(r.outdir, "index.js"))).toBe(true);
    }
  });
});
