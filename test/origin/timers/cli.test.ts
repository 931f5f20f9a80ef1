import { spawn } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { JobStatus } from "../../../origin/src/timers/status";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { repoRoot } from "../../support/origin-process";
import { runCli } from "./cli-support";

// The operator's commands, as real processes on an embedded DATA_DIR with no origin running:
// each command opens the database itself.

const suite = corpusAvailable ? describe : describe.skip;
if (!corpusAvailable) console.warn("skipping timers CLI tests: the corpus is absent (set OONI_CORPUS_DIR)");

let dataDir: string;
let scratch: string;
let env: Record<string, string>;

suite("timers, update and export commands", () => {
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "timers-cli-"));
    scratch = mkdtempSync(path.join(tmpdir(), "timers-cli-src-"));
    env = { DATA_DIR: dataDir, CITIZENLAB_SOURCE: corpusPath("citizenlab-test-lists"), TESTLISTS_BOOTSTRAP_DIR: "none" };
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it("timers run JOB runs it once, under its lock, and records it", async () => {
    const r = await runCli(["timers", "run", "citizenlab"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^citizenlab: 38\d{3} rows from 146 files/m);
  });

  it("a failed update exits non-zero, says the live data is unchanged, and is recorded", async () => {
    const bad = path.join(scratch, "bad");
    cpSync(path.join(corpusPath("citizenlab-test-lists"), "lists"), path.join(bad, "lists"), { recursive: true });
    appendFileSync(path.join(bad, "lists/it.csv"), "https://example.org/,XXXX,X,2024-01-01,,\n");
    // A relative --source is relative to where the command is typed.
    const r = await runCli(["update", "citizenlab", "--source", "bad"], env, scratch);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/citizenlab failed; the live data is unchanged:\n.*1 invalid rows[\s\S]*it\.csv:\d+: category_code "XXXX"/);
  });

  it("timers status shows each job's last run, last success, failures and configuration", async () => {
    const r = await runCli(["timers", "status", "--json"], env);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as JobStatus[];
    const byJob = new Map(rows.map((x) => [x.job, x]));
    const cl = byJob.get("citizenlab")!;
    expect(cl).toMatchObject({ state: "enabled", recent_failures: 1, running: null, interval_s: 86_400 });
    expect(cl.last_run).toMatchObject({ outcome: "failed", trigger: "manual" });
    expect(cl.last_success).toMatchObject({ outcome: "ok", trigger: "manual" });
    expect(byJob.get("fingerprints")).toMatchObject({ state: "not_configured", reason: "not configured: set FINGERPRINTS_SOURCE", next_due: null });
    expect(byJob.get("uploader")).toMatchObject({ state: "enabled", last_run: null });

    const text = await runCli(["timers", "status"], env);
    expect(text.stdout).toMatch(/^citizenlab +1d +failed .*last ok/m);
  });

  it("export writes zstd CSV parts and a manifest to the blob store", async () => {
    const r = await runCli(["export", "citizenlab", "--chunk-mb", "0.5"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/citizenlab: 38\d{3} rows in \d+ parts, .* exports\/citizenlab\/\d{8}T\d{6}Z\/manifest\.json/);
    const exportsDir = path.join(dataDir, "blobs", "exports", "citizenlab");
    const [stampDir] = readdirSync(exportsDir);
    const files = readdirSync(path.join(exportsDir, stampDir!));
    expect(files).toContain("manifest.json");
    expect(files.filter((f) => f.endsWith(".csv.zst")).length).toBeGreaterThan(2);
  });

  it("`timers` runs the due jobs in its own process and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), "timers"], {
      cwd: repoRoot,
      env: {
        ...env, PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn",
        TIMERS_START_DELAY_S: "0", TIMERS_JITTER_S: "0", TIMERS_DISABLED: "uploader,backup,analysis,changepoints",
        // Due at once whatever ran before (a failure would otherwise hold the retry back 30 min).
        TIMERS_INTERVALS: "citizenlab=1s",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await vi.waitFor(
        () => {
          const runs = JSON.parse(readFileSync(path.join(dataDir, "timers/history/citizenlab.json"), "utf8")).runs as { trigger: string; outcome: string }[];
          expect(runs.at(-1)).toMatchObject({ trigger: "timer", outcome: "ok" });
        },
        { timeout: 90_000, interval: 250 },
      );
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, out).toBe(0);
    expect(out).toMatch(/^timers running: citizenlab \(state in .*\); Ctrl-C stops$/m);
  }, 150_000);

  it("usage errors and unconfigured jobs are told apart", async () => {
    expect((await runCli(["timers", "run", "nosuch"], env)).code).toBe(2);
    const geo = await runCli(["timers", "run", "geoip"], env);
    expect(geo.code).toBe(78);
    expect(geo.stderr).toMatch(/geoip: not configured: set GEOIP_COUNTRY_URL/);
    expect(existsSync(path.join(dataDir, "timers", "history", "geoip.json"))).toBe(false);
  });
});
