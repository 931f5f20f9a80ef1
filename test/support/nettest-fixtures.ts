import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { corpusAvailable, corpusPath } from "./corpus";

// Real measurements of a set of tests, for the observation tests: the shared corpus's, plus the
// ones that ship as test fixtures in upstream snapshots when they are present (read in place with
// git, nothing copied): ooni/backend's fastpath test data, ooni/explorer's e2e fixtures (API
// answers whose raw_measurement is the measurement) and the example measurements in ooni/spec's
// nettest specifications (JSON code blocks). Absent snapshots contribute nothing.

export const backendSnapshot = process.env.OONI_BACKEND_SNAPSHOT ?? "/work/.mirror/ooni+backend/repo";
export const explorerSnapshot = process.env.OONI_EXPLORER_SNAPSHOT ?? "/work/.mirror/ooni+explorer/repo";
export const specSnapshot = process.env.OONI_SPEC_SNAPSHOT ?? "/work/.mirror/ooni+spec/repo";

export interface Fixture {
  /** Where it comes from, for messages: "corpus:signal.json", "ooni/backend:…". */
  source: string;
  measurement: Record<string, unknown>;
}

function gitFiles(gitDir: string, under: string, ext = ".json"): string[] {
  return execFileSync("git", ["--git-dir", gitDir, "ls-tree", "-r", "--name-only", "HEAD", under], { encoding: "utf8" }).split("\n").filter((f) => f.endsWith(ext));
}

function gitText(gitDir: string, file: string): string {
  return execFileSync("git", ["--git-dir", gitDir, "show", `HEAD:${file}`], { encoding: "utf8", maxBuffer: 256 << 20 });
}

function gitJson(gitDir: string, file: string): unknown {
  return JSON.parse(gitText(gitDir, file));
}

const isMeasurement = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v) && typeof (v as Record<string, unknown>).test_name === "string";

export function fixturesOf(tests: ReadonlySet<string>): { fixtures: Fixture[]; sources: string[] } {
  const fixtures: Fixture[] = [];
  const sources: string[] = [];
  const take = (source: string, v: unknown) => {
    for (const m of Array.isArray(v) ? v : [v]) if (isMeasurement(m) && tests.has(m.test_name as string)) fixtures.push({ source, measurement: m });
  };
  if (corpusAvailable) {
    sources.push("corpus");
    for (const f of readdirSync(corpusPath("measurements")).sort()) {
      if (f.endsWith(".json") && f !== "expectations.json") take(`corpus:${f}`, JSON.parse(readFileSync(corpusPath("measurements", f), "utf8")));
    }
  }
  if (existsSync(backendSnapshot)) {
    sources.push("ooni/backend fastpath/tests/data");
    for (const f of gitFiles(backendSnapshot, "fastpath/fastpath/tests/data/").sort()) {
      if (!/fingerprints|detector_query/.test(f)) take(`ooni/backend:${f}`, gitJson(backendSnapshot, f));
    }
  }
  if (existsSync(explorerSnapshot)) {
    sources.push("ooni/explorer tests/e2e/fixtures/measurement_meta");
    for (const f of gitFiles(explorerSnapshot, "tests/e2e/fixtures/measurement_meta/").sort()) {
      const answer = gitJson(explorerSnapshot, f) as { body?: unknown };
      if (typeof answer.body !== "string") continue;
      const meta = JSON.parse(answer.body) as { raw_measurement?: unknown };
      // Some answers carry an empty raw_measurement (the API's "not found in the blob store").
      if (typeof meta.raw_measurement === "string" && meta.raw_measurement !== "") take(`ooni/explorer:${f}`, JSON.parse(meta.raw_measurement));
    }
  }
  if (existsSync(specSnapshot)) {
    sources.push("ooni/spec nettests/*.md examples");
    for (const f of gitFiles(specSnapshot, "nettests/", ".md").sort()) {
      for (const m of gitText(specSnapshot, f).matchAll(/```(?:json|JSON)?[ \t]*\n([\s\S]*?)```/g)) {
        if (!m[1]!.includes('"test_name"')) continue;
        try {
          take(`ooni/spec:${f}`, JSON.parse(m[1]!));
        } catch {
          // Some examples are abridged ("…") and not JSON: not measurements we can use.
        }
      }
    }
  }
  return { fixtures, sources };
}
