import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_RUNS_KEPT, RunHistory } from "../../../origin/src/timers/history";
import { inspectLock, JobLock } from "../../../origin/src/timers/lock";
import { repoRoot } from "../../support/origin-process";

// Separate processes competing for one job through the real lock files. A violation is detected
// inside the job itself (an O_EXCL marker only one process can hold), independently of the lock
// under test.

const CONTENDER = path.join(repoRoot, "test/origin/timers/contender.ts");
let dir: string;

function start(args: string[]): { child: ChildProcess; lines: string[]; line(match: (l: string) => boolean): Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", CONTENDER, dir, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => {
    lines.push(l);
    for (const w of waiters.filter((w) => w.match(l))) w.resolve(l);
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    line: (match) =>
      new Promise<string>((resolve, reject) => {
        const found = lines.find(match);
        if (found) return resolve(found);
        waiters.push({ match, resolve });
        void exited.then((code) => reject(new Error(`contender exited (${code}) before the expected line:\n${stderr}`)));
      }),
  };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "timers-contest-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("two timer processes", () => {
  it("never run the same job at the same time", async () => {
    const a = start(["15"]);
    const b = start(["15"]);
    await Promise.all([a.line((l) => l === "ready"), b.line((l) => l === "ready")]);
    writeFileSync(path.join(dir, "go"), "");
    // Until both have run the job and the lock has turned someone away: then they did compete.
    const count = (p: typeof a, what: string) => p.lines.filter((l) => l === what).length;
    await vi.waitFor(
      () => {
        expect(count(a, "ran")).toBeGreaterThan(2);
        expect(count(b, "ran")).toBeGreaterThan(2);
        expect(count(a, "skipped") + count(b, "skipped")).toBeGreaterThan(2);
      },
      { timeout: 90_000, interval: 100 },
    );
    writeFileSync(path.join(dir, "stop"), "");
    const [ra, rb] = await Promise.all([a, b].map(async (p) => JSON.parse(await p.line((l) => l.startsWith("{"))) as { pid: number; ran: number; skipped: number }));
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);

    expect(existsSync(path.join(dir, "violations.log")) ? readFileSync(path.join(dir, "violations.log"), "utf8") : "").toBe("");
    // Every run is in the durable history (the latest MAX_RUNS_KEPT), by the process that ran it.
    const runs = await new RunHistory(dir).read("contested");
    expect(runs.length).toBe(Math.min(MAX_RUNS_KEPT, ra!.ran + rb!.ran));
    expect(runs.every((r) => r.pid === ra!.pid || r.pid === rb!.pid)).toBe(true);
    expect(runs.every((r) => r.outcome === "ok" && r.trigger === "timer")).toBe(true);
    // And the runs recorded do not overlap in time either.
    const spans = runs.map((r) => [Date.parse(r.started), Date.parse(r.ended)] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(await inspectLock(dir, "contested", 30_000)).toBeNull();
  }, 150_000);

  it("a lock left by a killed process is taken over", async () => {
    rmSync(path.join(dir, "stop"), { force: true });
    const holder = start(["-1"]);
    writeFileSync(path.join(dir, "go"), "");
    await holder.line((l) => l === "holding");
    expect(await JobLock.tryAcquire(dir, "contested", { staleMs: 30_000 })).toBeNull();
    holder.child.kill("SIGKILL");
    await holder.exited;
    const state = await inspectLock(dir, "contested", 30_000);
    expect(state?.stale).toBe(true);
    expect(state?.reason).toMatch(/process \d+ is gone/);
    const lock = await JobLock.tryAcquire(dir, "contested", { staleMs: 30_000 });
    expect(lock).not.toBeNull();
    expect((await inspectLock(dir, "contested", 30_000))?.info?.pid).toBe(process.pid);
    await lock!.release();
    rmSync(path.join(dir, "inside"), { force: true });
  });
});
