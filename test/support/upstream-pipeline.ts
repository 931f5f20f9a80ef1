import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "./origin-process";

// Upstream's OONI Pipeline v5 (github:ooni/data, Python), run unchanged from a snapshot for the
// conformance test and bench/observations:
// - the snapshot: a bare git directory (OONI_DATA_SNAPSHOT, default /work/.mirror/ooni+data/repo,
//   where the `fetch` tool puts it); its source is extracted (git archive, nothing built) to
//   ~/.cache/ooni-edge/ooni-data-<commit>;
// - its Python dependencies: from PyPI into ~/.cache/ooni-edge/upstream-pipeline-venv-<hash of
//   the list below>, created on first use (~1–2 min), reused after;
// - the harness: test/origin/observations/upstream/run_upstream_pipeline.py.
// Absent snapshot or python3: `unavailable` says why, and the callers skip.

export const snapshotGitDir = process.env.OONI_DATA_SNAPSHOT ?? "/work/.mirror/ooni+data/repo";
const cacheRoot = path.join(process.env.OONI_EDGE_CACHE ?? path.join(homedir(), ".cache", "ooni-edge"));
const harness = path.join(repoRoot, "test/origin/observations/upstream/run_upstream_pipeline.py");

/** What the snapshot's transformation and analysis import (oonipipeline's pyproject, the parts used). */
const REQUIREMENTS = [
  "boto3~=1.24",
  "requests~=2.27",
  "maxminddb~=2.2",
  "orjson~=3.8",
  "mashumaro~=3.0",
  "cryptography~=41.0.0",
  "pyopenssl",
  "clickhouse-driver~=0.2",
  "PyYAML~=6.0",
  "tqdm~=4.64",
  "lz4~=4.0",
  "lxml",
  "google-re2==1.1.20251105",
  "chdb==4.4.0",
];

function which(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

export const unavailable: string | null = !existsSync(snapshotGitDir)
  ? `upstream pipeline snapshot not found at ${snapshotGitDir} (set OONI_DATA_SNAPSHOT to a bare git dir of github:ooni/data)`
  : !which("python3")
    ? "python3 not found"
    : !which("git")
      ? "git not found"
      : null;

export interface UpstreamPipeline {
  commit: string;
  /** Extracted source: oonidata/src, oonipipeline/src, oonipipeline/tests/data/wc05_qa. */
  sourceDir: string;
  python: string;
}

/** Extracts the snapshot and creates the venv if needed. Throws when that fails. */
export function prepareUpstream(): UpstreamPipeline {
  if (unavailable) throw new Error(unavailable);
  const commit = execFileSync("git", ["--git-dir", snapshotGitDir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  mkdirSync(cacheRoot, { recursive: true });
  const sourceDir = path.join(cacheRoot, `ooni-data-${commit.slice(0, 12)}`);
  if (!existsSync(path.join(sourceDir, ".complete"))) {
    const tmp = `${sourceDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    execFileSync("sh", ["-c", `git --git-dir="$1" archive HEAD oonidata/src oonipipeline/src oonipipeline/tests/data/wc05_qa | tar -x -C "$2"`, "sh", snapshotGitDir, tmp]);
    writeFileSync(path.join(tmp, ".complete"), commit);
    rmSync(sourceDir, { recursive: true, force: true });
    renameSync(tmp, sourceDir);
  }
  const venv = path.join(cacheRoot, `upstream-pipeline-venv-${createHash("sha256").update(REQUIREMENTS.join("\n")).digest("hex").slice(0, 12)}`);
  const python = path.join(venv, "bin", "python");
  if (!existsSync(path.join(venv, ".complete"))) {
    rmSync(venv, { recursive: true, force: true });
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(path.join(venv, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", ...REQUIREMENTS], { stdio: "inherit", timeout: 900_000 });
    writeFileSync(path.join(venv, ".complete"), REQUIREMENTS.join("\n"));
  }
  return { commit, sourceDir, python };
}

export interface HarnessItem {
  uid: string;
  bucket_date: string;
  measurement: Record<string, unknown>;
}

export interface UpstreamResult {
  observations: Record<string, { web?: Record<string, unknown>[]; ctrl?: Record<string, unknown>[]; middlebox?: Record<string, unknown>[]; error?: string }>;
  analysis: Record<string, unknown>[];
}

function runHarness(up: UpstreamPipeline, items: HarnessItem[], extra: string[]): unknown {
  const dir = path.join(tmpdir(), `upstream-pipeline-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  try {
    const input = path.join(dir, "in.json");
    const output = path.join(dir, "out.json");
    writeFileSync(input, JSON.stringify(items));
    execFileSync(up.python, [harness, up.sourceDir, input, output, ...extra], { stdio: ["ignore", "ignore", "pipe"], timeout: 600_000 });
    return JSON.parse(readFileSync(output, "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Upstream's observations and (daily batch) analysis of these measurements. */
export function runUpstream(up: UpstreamPipeline, items: HarnessItem[]): UpstreamResult {
  return runHarness(up, items, []) as UpstreamResult;
}

/** Upstream's observations alone (no analysis run). */
export function observeUpstream(up: UpstreamPipeline, items: HarnessItem[]): UpstreamResult {
  return runHarness(up, items, ["--observations-only"]) as UpstreamResult;
}

export interface UpstreamBench {
  /** Transformation: measurements, wall and CPU seconds (one Python process: one core). */
  measurements: number;
  seconds: number;
  cpu_seconds: number;
  /** With `analysisCopies`: upstream's analysis statement over that many copies of the observations. */
  analysis_measurements?: number;
  analysis_cpu_seconds?: number;
  /** Storing those copies' observation rows in chdb first (JSONEachRow, as the harness does). */
  insert_cpu_seconds?: number;
}

/**
 * Upstream's transformation, `passes` times over the items; with `analysisCopies`, also its
 * analysis (write_analysis_web_fuzzy_logic on chdb) over that many copies of the observations.
 */
export function benchUpstream(up: UpstreamPipeline, items: HarnessItem[], passes: number, analysisCopies = 0): UpstreamBench {
  return runHarness(up, items, ["--bench", String(passes), ...(analysisCopies > 0 ? ["--bench-analysis", String(analysisCopies)] : [])]) as UpstreamBench;
}
