// `npm run build`: bundles the standalone test helper (origin/src/testhelper/main.ts) with esbuild
// into one ES module, dist/testhelper/main.mjs, run by plain `node` (no tsx: its loader thread and
// compiler cost ≈ 40 MB of RSS per process). esbuild comes with tsx, a runtime dependency, so this
// adds nothing to install; a build takes well under a second, so `npm run testhelper` always
// rebuilds rather than guess whether the bundle is stale.
import path from "node:path";
import { build } from "esbuild";

const repoRoot = path.resolve(import.meta.dirname, "..");
export const TESTHELPER_BUNDLE = path.join(repoRoot, "dist/testhelper/main.mjs");

/** Node flags `npm run testhelper` runs the bundle with (package.json; the bench uses these too). */
export const TESTHELPER_NODE_FLAGS: string[] = [];

export async function buildTestHelper(): Promise<string> {
  await build({
    entryPoints: [path.join(repoRoot, "origin/src/testhelper/main.ts")],
    outfile: TESTHELPER_BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    logLevel: "warning",
    // CommonJS dependencies (pino, maxmind) call require() for Node built-ins; an ES module has none.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  });
  return TESTHELPER_BUNDLE;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${path.relative(process.cwd(), await buildTestHelper())}\n`);
}
