// `npm run build`: bundles the standalone test helper (origin/src/testhelper/main.ts) with esbuild
// into one ES module, dist/testhelper/main.mjs, run by plain `node` (no tsx: its loader thread and
// compiler cost ≈ 40 MB of RSS per process). A build takes well under a second, so
// `npm run testhelper` always rebuilds rather than guess whether the bundle is stale.
import { createRequire } from "node:module";
import path from "node:path";

// tsx's own esbuild: tsx is a runtime dependency, so this is there in a production install too (the
// top-level esbuild comes only with dev tools: wrangler, vite).
const fromTsx = createRequire(createRequire(import.meta.url).resolve("tsx/package.json"));
const { build } = fromTsx("esbuild") as typeof import("esbuild");

const repoRoot = path.resolve(import.meta.dirname, "..");
export const TESTHELPER_BUNDLE = path.join(repoRoot, "dist/testhelper/main.mjs");

/**
 * Node flags the bundle runs with: keep in step with package.json's "testhelper" script and
 * deploy/systemd/ooni-edge-testhelper.service (the bench uses these). Measured over 5,000 sequential
 * answers (docs/testhelper.md#performance), peak RSS: 114 MB with V8's defaults; 2 MB semi-spaces
 * (V8: 16 MB) 93–102 MB; letting the old generation grow by 50 % between full collections rather
 * than V8's dynamic factor (up to 4×; live data is ≈ 11 MB) 79–81 MB; one V8 background thread
 * instead of one per core (the helper has one event loop to serve) 75 MB — at no CPU cost we could
 * measure. 1 MB semi-spaces or --optimize-for-size saved no more and cost CPU per answer.
 */
export const TESTHELPER_NODE_FLAGS: string[] = ["--max-semi-space-size=2", "--heap-growing-percent=50", "--v8-pool-size=1"];

export async function buildTestHelper(): Promise<string> {
  return (await buildTestHelperWithInputs()).bundle;
}

export async function buildTestHelperWithInputs(): Promise<{ bundle: string; inputs: string[] }> {
  const result = await build({
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
    metafile: true,
    absWorkingDir: repoRoot,
  });
  return { bundle: TESTHELPER_BUNDLE, inputs: Object.keys(result.metafile.inputs) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${path.relative(process.cwd(), await buildTestHelper())}\n`);
}
