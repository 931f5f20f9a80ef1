import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UPLOADER_STEPS, type UploaderStep } from "../../../origin/src/archive/steps";
import type { ArchiveState } from "./inspect";

// Crash safety: for every step boundary of the uploader, a process is killed (SIGKILL, by the
// OONI_UPLOADER_CRASH_AT fault injector) right after that step; a second process runs the
// uploader again and must find every measurement archived exactly once, retrievable, and the
// spool empty. Each boundary starts from its own fresh data directory.

export const repoRoot = path.resolve(import.meta.dirname, "../../..");
const DRIVER = path.join(import.meta.dirname, "fixtures/driver.ts");
const N = 12;

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export const driver = (args: string[], env: Record<string, string>) => run(DRIVER, args, env);

export function result<T>(r: Run): T {
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`no result (exit ${r.code ?? r.signal}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

export interface Finished {
  code: number;
  out: string;
  pre: { spoolFiles: number; journals: string[]; keys: string[]; hourDirs: string[] };
  state: ArchiveState;
}

/** Everything archived exactly once, retrievable byte for byte, nothing left behind. */
export function expectArchivedOnce(state: ArchiveState, sent: { uid: string; sha256: string }[]) {
  expect(state.spoolFiles).toBe(0);
  expect(state.spoolHourDirs).toEqual([]);
  expect(state.journals).toEqual([]);
  expect(state.jsonlFinal).toBe(sent.length);
  expect(state.jsonlDistinctUids).toBe(sent.length);
  expect(state.tarMembers.length).toBe(sent.length);
  expect(new Set(state.tarMembers).size).toBe(sent.length);
  expect(state.jsonlLines).toBe(sent.length);
  expect(state.jsonlLinesAreJson).toBe(true);
  for (const s of sent) expect(state.bodies[s.uid], s.uid).toMatchObject({ status: 200, sha256: s.sha256 });
}

/** What must already be true when the process dies after `step` (the first hour directory's run). */
function expectPartial(step: UploaderStep, pre: Finished["pre"], firstDirSize: number) {
  expect(pre.journals.length, "an interrupted run leaves its journal").toBe(1);
  const stored = pre.keys.length;
  if (step === "planned" || step === "built") expect(stored).toBe(0);
  if (step === "storing") expect(stored).toBe(1);
  if (["stored", "indexed", "scored", "committed"].includes(step)) {
    expect(stored).toBeGreaterThanOrEqual(2);
    expect(pre.spoolFiles).toBe(N);
  }
  if (step === "deleting") expect(pre.spoolFiles).toBe(N - 1);
  if (step === "deleted" || step === "dir-removed") expect(pre.spoolFiles).toBe(N - firstDirSize);
  if (step === "dir-removed") expect(pre.hourDirs.length).toBe(2);
}

const CLI = path.join(repoRoot, "origin/src/cli.ts");

export function crashSuite(
  label: string,
  storeEnv: () => Promise<{ env: (prefix: string) => Record<string, string>; close: () => Promise<void> }>,
  opts: { cli?: boolean } = {},
) {
  describe(`uploader crash safety (${label})`, () => {
    let envFor: (prefix: string) => Record<string, string>;
    let close: () => Promise<void> = async () => {};
    const dirs: string[] = [];

    beforeAll(async () => {
      const s = await storeEnv();
      envFor = s.env;
      close = s.close;
    });
    afterAll(async () => {
      await close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    if (opts.cli) {
      it("through the real CLI: `uploader run --all` killed mid-way, then run again", async () => {
        const dataDir = mkdtempSync(path.join(tmpdir(), "archive-crash-cli-"));
        dirs.push(dataDir);
        const sentFile = path.join(dataDir, "sent.json");
        const env = { DATA_DIR: dataDir, UPLOADER_CAN_MAX_BYTES: "6000", ...envFor("cli") };
        expect((await driver(["prepare", String(N), sentFile], env)).code).toBe(0);
        const crashed = await run(CLI, ["uploader", "run", "--all"], { ...env, OONI_UPLOADER_CRASH_AT: "indexed" });
        expect(crashed.signal, crashed.stderr).toBe("SIGKILL");
        const again = await run(CLI, ["uploader", "run", "--all"], env);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toContain("(finished an interrupted run)");
        const sent = JSON.parse(readFileSync(sentFile, "utf8")) as { uid: string; sha256: string }[];
        const r = result<Finished>(await driver(["inspect", sentFile], env));
        expectArchivedOnce(r.state, sent);
        // A bad fault-injector value is a configuration error like any other setting.
        const bad = await run(CLI, ["uploader", "run"], { ...env, OONI_UPLOADER_CRASH_AT: "sometimes" });
        expect(bad.code).toBe(78);
        expect(bad.stderr).toContain("OONI_UPLOADER_CRASH_AT");
      }, 120_000);
    }

    for (const step of UPLOADER_STEPS) {
      it(`crash after "${step}", run again: all ${N} archived exactly once`, async () => {
        const dataDir = mkdtempSync(path.join(tmpdir(), `archive-crash-${step}-`));
        dirs.push(dataDir);
        const sentFile = path.join(dataDir, "sent.json");
        // Small cans: several files per hour directory, so "storing" and "deleting" are mid-way.
        const env = { DATA_DIR: dataDir, UPLOADER_CAN_MAX_BYTES: "6000", ...envFor(step) };

        const crashed = await driver(["crash", String(N), sentFile], { ...env, OONI_UPLOADER_CRASH_AT: step });
        expect(crashed.signal, crashed.stderr).toBe("SIGKILL");
        expect(crashed.stderr).toContain(`crashing after step "${step}"`);

        const sent = JSON.parse(readFileSync(sentFile, "utf8")) as { uid: string; sha256: string }[];
        expect(sent.length).toBe(N);
        const firstDir = [...new Set(sent.map((s) => s.uid.slice(0, 10) + s.uid.slice(21).replace(/_[0-9a-f]{16}$/, "")))].sort()[0];
        const firstDirSize = sent.filter((s) => s.uid.slice(0, 10) + s.uid.slice(21).replace(/_[0-9a-f]{16}$/, "") === firstDir).length;

        const again = await driver(["finish", sentFile], env);
        expect(again.code, again.stderr).toBe(0);
        const r = result<Finished>(again);
        expect(r.code).toBe(0);
        expect(r.out).toContain("(finished an interrupted run)");
        expectPartial(step, r.pre, firstDirSize);
        expectArchivedOnce(r.state, sent);
      }, 120_000);
    }
  });
}
