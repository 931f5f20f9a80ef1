import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "./origin-process";
import type { UpstreamPipeline } from "./upstream-pipeline";

// Upstream's changepoint detector (ooni/data oonipipeline.analysis.detector), unchanged from the
// snapshot, run by test/origin/changepoints/upstream/run_upstream_detector.py in the pipeline venv
// (test/support/upstream-pipeline.ts). For the conformance test and bench/changepoints.

/** Runs the harness on `input`; its JSON answer. `--full` runs run_detector() on chdb. */
export function runUpstreamDetector(up: UpstreamPipeline, input: unknown, extra: string[] = []): unknown {
  const dir = mkdtempSync(path.join(tmpdir(), "upstream-detector-"));
  try {
    const inPath = path.join(dir, "in.json");
    const outPath = path.join(dir, "out.json");
    writeFileSync(inPath, JSON.stringify(input));
    execFileSync(up.python, [path.join(repoRoot, "test/origin/changepoints/upstream/run_upstream_detector.py"), up.sourceDir, inPath, outPath, ...extra], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 1_800_000,
      maxBuffer: 1 << 26,
    });
    return JSON.parse(readFileSync(outPath, "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
