import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { corpusAvailable, corpusPath } from "../corpus";
import { repoRoot } from "../origin-process";

// Where OONI's own Python fastpath comes from, for the conformance test and bench/fastpath. Its code
// is never part of this project: it is read from a snapshot of ooni/backend found through
//   OONI_BACKEND_DIR  a checkout (holding fastpath/fastpath/core.py), or
//   OONI_BACKEND_GIT  a bare git directory (default /work/.mirror/ooni+backend/repo), whose HEAD's
//                     fastpath/ is extracted once to ~/.cache/ooni-edge/upstream-fastpath/<commit>/.
// The Python side is a venv from PyPI (scripts/upstream-fastpath-venv.sh), or OONI_FASTPATH_PYTHON.
// Whatever is missing is reported as a reason, so callers can skip with a clear message.

export const HARNESS = path.join(repoRoot, "test/support/upstream-fastpath/harness.py");

export interface UpstreamFastpath {
  /** The directory holding the `fastpath` Python package (ooni/backend's fastpath/). */
  backendDir: string;
  /** Commit of the snapshot, or "checkout" when OONI_BACKEND_DIR was given. */
  revision: string;
  python: string;
  /** fingerprints_dns.csv and fingerprints_http.csv (the shared corpus). */
  fingerprintsDir: string;
}

export type Located = { ok: true; upstream: UpstreamFastpath } | { ok: false; reason: string };

function git(gitDir: string, args: string[]): string {
  const r = spawnSync("git", ["--git-dir", gitDir, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

function backend(): { dir: string; revision: string } | string {
  const checkout = process.env.OONI_BACKEND_DIR;
  if (checkout) {
    const dir = path.join(checkout, "fastpath");
    return existsSync(path.join(dir, "fastpath/core.py")) ? { dir, revision: "checkout" } : `OONI_BACKEND_DIR=${checkout} has no fastpath/fastpath/core.py`;
  }
  const gitDir = process.env.OONI_BACKEND_GIT ?? "/work/.mirror/ooni+backend/repo";
  if (!existsSync(gitDir)) return `no ooni/backend snapshot (set OONI_BACKEND_DIR or OONI_BACKEND_GIT; looked in ${gitDir})`;
  let revision: string;
  try {
    revision = git(gitDir, ["rev-parse", "HEAD"]).trim();
  } catch (err) {
    return `ooni/backend snapshot unreadable: ${(err as Error).message}`;
  }
  const cache = path.join(homedir(), ".cache/ooni-edge/upstream-fastpath", revision);
  const dir = path.join(cache, "fastpath");
  if (!existsSync(path.join(dir, "fastpath/core.py"))) {
    mkdirSync(path.dirname(cache), { recursive: true });
    const tmp = mkdtempSync(`${cache}.tmp-`);
    const archive = spawnSync("git", ["--git-dir", gitDir, "archive", "HEAD", "fastpath"], { maxBuffer: 1 << 28 });
    if (archive.status !== 0) return `git archive of ooni/backend failed: ${archive.stderr.toString().trim()}`;
    const tar = spawnSync("tar", ["-x", "-C", tmp], { input: archive.stdout });
    if (tar.status !== 0) return `extracting ooni/backend fastpath failed: ${tar.stderr.toString().trim()}`;
    rmSync(cache, { recursive: true, force: true });
    renameSync(tmp, cache);
  }
  return { dir, revision };
}

function python(): string {
  if (process.env.OONI_FASTPATH_PYTHON) return process.env.OONI_FASTPATH_PYTHON;
  const r = spawnSync("bash", [path.join(repoRoot, "scripts/upstream-fastpath-venv.sh")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/upstream-fastpath-venv.sh failed: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return r.stdout.trim();
}

let cached: Located | undefined;

export function locateUpstreamFastpath(): Located {
  if (cached) return cached;
  cached = (() => {
    if (!corpusAvailable) return { ok: false as const, reason: "the shared corpus (fingerprints) is absent (OONI_CORPUS_DIR)" };
    const b = backend();
    if (typeof b === "string") return { ok: false as const, reason: b };
    let py: string;
    try {
      py = python();
    } catch (err) {
      return { ok: false as const, reason: (err as Error).message };
    }
    return {
      ok: true as const,
      upstream: { backendDir: b.dir, revision: b.revision, python: py, fingerprintsDir: corpusPath("fingerprints") },
    };
  })();
  return cached;
}

/** Runs the harness: `score` reads items (JSON lines) on stdin and answers one line per item. */
export function runHarness(u: UpstreamFastpath, args: string[], input?: string): string {
  const r = spawnSync(u.python, [HARNESS, "--backend", u.backendDir, "--fingerprints", u.fingerprintsDir, ...args], {
    input,
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`upstream fastpath harness failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}
