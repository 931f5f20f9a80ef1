import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RUNS_KEPT, RunHistory, type RunRecord } from "../../../origin/src/timers/history";
import { inspectLock, JobLock } from "../../../origin/src/timers/lock";
import { runLocked } from "../../../origin/src/timers/runner";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "timers-lock-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lockFile = (job: string) => path.join(dir, "locks", `${job}.lock`);

describe("job lock", () => {
  it("is exclusive, and free again once released", async () => {
    const a = await JobLock.tryAcquire(dir, "j1", { staleMs: 60_000 });
    expect(a).not.toBeNull();
    expect(await JobLock.tryAcquire(dir, "j1", { staleMs: 60_000 })).toBeNull();
    // Another job is another lock.
    const other = await JobLock.tryAcquire(dir, "j2", { staleMs: 60_000 });
    expect(other).not.toBeNull();
    await a!.release();
    await other!.release();
    const b = await JobLock.tryAcquire(dir, "j1", { staleMs: 60_000 });
    expect(b).not.toBeNull();
    await b!.release();
    expect(await inspectLock(dir, "j1", 60_000)).toBeNull();
  });

  it("is taken over when its heartbeat stopped (an owner on another host)", async () => {
    const info = { job: "j3", pid: 1, host: "some-other-host", token: "abc", acquired: new Date(0).toISOString() };
    await JobLock.tryAcquire(dir, "j0", { staleMs: 60_000 }); // creates the locks directory
    writeFileSync(lockFile("j3"), JSON.stringify(info));
    // A live heartbeat: held, whoever it is.
    expect(await JobLock.tryAcquire(dir, "j3", { staleMs: 60_000 })).toBeNull();
    const old = new Date(Date.now() - 120_000);
    utimesSync(lockFile("j3"), old, old);
    const state = await inspectLock(dir, "j3", 60_000);
    expect(state).toMatchObject({ stale: true, info: { host: "some-other-host" } });
    const lock = await JobLock.tryAcquire(dir, "j3", { staleMs: 60_000 });
    expect(lock).not.toBeNull();
    expect(JSON.parse(readFileSync(lockFile("j3"), "utf8"))).toMatchObject({ pid: process.pid, host: hostname() });
    await lock!.release();
  });

  it("release never removes a lock somebody else took over", async () => {
    const mine = await JobLock.tryAcquire(dir, "j4", { staleMs: 60_000 });
    // Someone judged us stale and replaced the file.
    const theirs = { job: "j4", pid: process.pid, host: hostname(), token: "theirs", acquired: new Date().toISOString() };
    writeFileSync(lockFile("j4"), JSON.stringify(theirs));
    await mine!.release();
    expect(JSON.parse(readFileSync(lockFile("j4"), "utf8")).token).toBe("theirs");
    rmSync(lockFile("j4"));
  });

  it("an unreadable lock file is left alone while young, taken over once old", async () => {
    writeFileSync(lockFile("j5"), "");
    expect(await JobLock.tryAcquire(dir, "j5", { staleMs: 60_000 })).toBeNull();
    const old = new Date(Date.now() - 10_000);
    utimesSync(lockFile("j5"), old, old);
    const lock = await JobLock.tryAcquire(dir, "j5", { staleMs: 60_000 });
    expect(lock).not.toBeNull();
    await lock!.release();
  });
});

describe("runLocked and the run history", () => {
  it("records successes and failures, and skips (unrecorded) while the job is held", async () => {
    const ok = await runLocked("h1", async () => "did it", { timersDir: dir, staleMs: 60_000, trigger: "manual" });
    expect(ok.outcome).toBe("ok");
    const failed = await runLocked("h1", async () => {
      throw new Error("source unreachable\nsecond line");
    }, { timersDir: dir, staleMs: 60_000, trigger: "timer" });
    expect(failed.outcome).toBe("failed");
    const held = await JobLock.tryAcquire(dir, "h1", { staleMs: 60_000 });
    const skipped = await runLocked("h1", async () => "never", { timersDir: dir, staleMs: 60_000, trigger: "timer" });
    expect(skipped).toMatchObject({ outcome: "skipped_locked", holder: expect.stringContaining(`pid ${process.pid}`) });
    await held!.release();

    const runs = await new RunHistory(dir).read("h1");
    expect(runs.map((r) => [r.outcome, r.trigger, r.summary])).toEqual([
      ["ok", "manual", "did it"],
      ["failed", "timer", "source unreachable second line"],
    ]);
    expect((await new RunHistory(dir).lastSuccess("h1"))?.summary).toBe("did it");
  });

  it("keeps the latest runs only, and survives a damaged file", async () => {
    const h = new RunHistory(dir);
    const rec = (i: number): RunRecord => ({
      job: "h2", trigger: "timer", started: new Date(i * 1000).toISOString(), ended: new Date(i * 1000 + 500).toISOString(),
      duration_s: 0.5, outcome: "ok", summary: `run ${i}`, pid: 1, host: "h",
    });
    for (let i = 0; i < MAX_RUNS_KEPT + 5; i++) await h.append(rec(i));
    const runs = await h.read("h2");
    expect(runs.length).toBe(MAX_RUNS_KEPT);
    expect(runs[0]!.summary).toBe("run 5");
    expect(runs.at(-1)!.summary).toBe(`run ${MAX_RUNS_KEPT + 4}`);
    writeFileSync(path.join(dir, "history", "h2.json"), '{"job":"h2","runs":[{"trunc');
    expect(await h.read("h2")).toEqual([]);
    await h.append(rec(99));
    expect((await h.read("h2")).map((r) => r.summary)).toEqual(["run 99"]);
  });
});
