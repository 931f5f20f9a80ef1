import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { corpusAvailable, corpusPath } from "../corpus";

// Every real or example measurement we can find, as the text a probe would send, for comparing
// our fastpath with upstream's. Sources (each optional; what is absent is listed in `missing`):
//   corpus       the shared corpus' measurements/*.json (OONI_CORPUS_DIR)
//   backend      ooni/backend fastpath/fastpath/tests/data/*.json (the located snapshot)
//   spec         ooni/spec: every fenced block in its Markdown that is a measurement
//                (OONI_SPEC_GIT, default /work/.mirror/ooni+spec/repo)
//   probe-cli    ooni/probe-cli: every testdata/ *.json / *.jsonl / *.jsonc file (or line) that is a
//                measurement (OONI_PROBE_CLI_GIT, default /work/.mirror/ooni+probe-cli/repo)
// A measurement is a JSON object with a string test_name. Identical texts are kept once.

export interface Fixture {
  /** source:path[#n] */
  id: string;
  source: "corpus" | "backend" | "spec" | "probe-cli";
  /** The measurement as text, byte for byte as found. */
  text: string;
  testName: string;
}

export interface FixtureSet {
  fixtures: Fixture[];
  /** Sources that were not found, with why. */
  missing: string[];
  /** Commits of the git sources used. */
  revisions: Record<string, string>;
}

const MAX_BYTES = 4 << 20;

function asMeasurement(text: string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  const tn = (v as Record<string, unknown>).test_name;
  return typeof tn === "string" ? tn : null;
}

/** Blobs of HEAD whose path passes `want`, read with one `git cat-file --batch`. */
function gitBlobs(gitDir: string, want: (p: string) => boolean): { revision: string; files: { path: string; text: string }[] } {
  const rev = spawnSync("git", ["--git-dir", gitDir, "rev-parse", "HEAD"], { encoding: "utf8" });
  if (rev.status !== 0) throw new Error(rev.stderr.trim());
  const tree = spawnSync("git", ["--git-dir", gitDir, "ls-tree", "-r", "-l", "HEAD"], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (tree.status !== 0) throw new Error(tree.stderr.trim());
  const entries: { oid: string; path: string }[] = [];
  for (const line of tree.stdout.split("\n")) {
    const m = /^\d+ blob ([0-9a-f]+) +(\d+)\t(.*)$/.exec(line);
    if (m && Number(m[2]) <= MAX_BYTES && want(m[3]!)) entries.push({ oid: m[1]!, path: m[3]! });
  }
  const batch = spawnSync("git", ["--git-dir", gitDir, "cat-file", "--batch"], {
    input: entries.map((e) => e.oid).join("\n") + "\n",
    maxBuffer: 1 << 30,
  });
  if (batch.status !== 0) throw new Error(batch.stderr.toString().trim());
  const out = batch.stdout;
  const files: { path: string; text: string }[] = [];
  let pos = 0;
  for (const e of entries) {
    const nl = out.indexOf(0x0a, pos);
    const header = out.subarray(pos, nl).toString("utf8").split(" ");
    const size = Number(header[2]);
    files.push({ path: e.path, text: out.subarray(nl + 1, nl + 1 + size).toString("utf8") });
    pos = nl + 1 + size + 1;
  }
  return { revision: rev.stdout.trim(), files };
}

export function collectFixtures(backendDir: string | null): FixtureSet {
  const fixtures: Fixture[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  const revisions: Record<string, string> = {};
  const add = (source: Fixture["source"], id: string, text: string) => {
    const testName = asMeasurement(text);
    if (testName === null) return;
    const h = createHash("sha256").update(text.trim()).digest("hex");
    if (seen.has(h)) return;
    seen.add(h);
    fixtures.push({ id: `${source}:${id}`, source, text: text.trim(), testName });
  };
  const addDir = (source: Fixture["source"], dir: string) => {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith(".json") && f !== "expectations.json") add(source, f, readFileSync(path.join(dir, f), "utf8"));
    }
  };

  if (corpusAvailable) addDir("corpus", corpusPath("measurements"));
  else missing.push("corpus (OONI_CORPUS_DIR)");

  const data = backendDir ? path.join(backendDir, "fastpath/tests/data") : null;
  if (data && existsSync(data)) addDir("backend", data);
  else missing.push("ooni/backend fastpath test data");

  const specGit = process.env.OONI_SPEC_GIT ?? "/work/.mirror/ooni+spec/repo";
  if (existsSync(specGit)) {
    const { revision, files } = gitBlobs(specGit, (p) => p.endsWith(".md"));
    revisions.spec = revision;
    for (const f of files) {
      let n = 0;
      for (const m of f.text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)) add("spec", `${f.path}#${n++}`, m[1]!);
    }
  } else missing.push(`ooni/spec (OONI_SPEC_GIT; looked in ${specGit})`);

  const cliGit = process.env.OONI_PROBE_CLI_GIT ?? "/work/.mirror/ooni+probe-cli/repo";
  if (existsSync(cliGit)) {
    const { revision, files } = gitBlobs(cliGit, (p) => /(^|\/)testdata\//.test(p) && /\.(json|jsonl|jsonc)$/.test(p));
    revisions["probe-cli"] = revision;
    for (const f of files) {
      if (f.path.endsWith(".jsonl")) {
        f.text.split("\n").forEach((line, i) => add("probe-cli", `${f.path}#${i}`, line));
      } else {
        add("probe-cli", f.path, f.text);
      }
    }
  } else missing.push(`ooni/probe-cli (OONI_PROBE_CLI_GIT; looked in ${cliGit})`);

  return { fixtures, missing, revisions };
}
