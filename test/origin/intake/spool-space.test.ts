import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Intake } from "../../../origin/src/intake/intake";
import { Spool } from "../../../origin/src/intake/spool";
import { SpoolFullError, SpoolSpace } from "../../../origin/src/intake/spool-space";
import { listFiles, measurement } from "./helpers";

// The free-space guard against the real filesystem: the reserve is set relative to what statfs
// reports right now, so "full" and "room" are both real answers, not stubs. (The real ENOSPC, on a
// small tmpfs, is in test/faults/disk-full.test.ts.)

const dir = mkdtempSync(path.join(tmpdir(), "spool-space-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const freeNow = () => {
  const st = statfsSync(dir);
  return st.bavail * st.bsize;
};

/** statfs, counted. */
function countingStatfs() {
  const calls = { n: 0 };
  const fn = async (d: string) => {
    calls.n++;
    return statfs(d);
  };
  return { calls, fn };
}

describe("SpoolSpace", () => {
  it("refuses when the filesystem has less free than the reserve, and says how much", async () => {
    const space = new SpoolSpace(dir, freeNow() + 1024 ** 4); // a TiB more than there is
    const err = await space.ensureRoom().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolFullError);
    expect((err as SpoolFullError).freeBytes).toBeGreaterThan(0);
    expect((await space.status()).full).toBe(true);
  });

  it("accepts with room to spare, but not a write that would eat into the reserve", async () => {
    const free = freeNow();
    const space = new SpoolSpace(dir, Math.floor(free / 2));
    await space.ensureRoom(1024);
    expect((await space.status()).full).toBe(false);
    await expect(space.ensureRoom(free)).rejects.toBeInstanceOf(SpoolFullError);
  });

  it("asks the filesystem at most once per refresh period, and once for concurrent callers", async () => {
    const { calls, fn } = countingStatfs();
    const space = new SpoolSpace(dir, 1, { refreshMs: 60_000, statfs: fn });
    await Promise.all(Array.from({ length: 50 }, () => space.ensureRoom(10)));
    for (let i = 0; i < 100; i++) await space.ensureRoom(10);
    expect(calls.n).toBe(1);
    // A write that failed for lack of space makes it ask again at once.
    await space.noteNoSpace();
    expect(calls.n).toBe(2);
  });

  it("counts its own writes against the cached figure, so a burst cannot overshoot the reserve", async () => {
    const free = freeNow();
    const space = new SpoolSpace(dir, free - 10_000_000, { refreshMs: 60_000 });
    await space.ensureRoom(4_000_000);
    space.noteWritten(4_000_000);
    space.noteWritten(4_000_000);
    // 8 MB (+ per-file overhead) of the 10 MB spare are gone without a new statfs.
    await expect(space.ensureRoom(4_000_000)).rejects.toBeInstanceOf(SpoolFullError);
  });

  it("refreshes after the period", async () => {
    const { calls, fn } = countingStatfs();
    const space = new SpoolSpace(dir, 1, { refreshMs: 20, statfs: fn });
    await space.ensureRoom();
    await new Promise((r) => setTimeout(r, 40));
    await space.ensureRoom();
    expect(calls.n).toBe(2);
  });

  it("fails open when statfs itself fails (the write decides), and asks again next period", async () => {
    const space = new SpoolSpace(path.join(dir, "does-not-exist"), 1024 ** 5, { refreshMs: 20 });
    await space.ensureRoom(100);
    expect((await space.status()).freeBytes).toBeNull();
  });

  it("reserve 0 switches the check off (no statfs on the hot path)", async () => {
    const { calls, fn } = countingStatfs();
    const space = new SpoolSpace(dir, 0, { statfs: fn });
    await space.ensureRoom(1024 ** 5);
    expect(calls.n).toBe(0);
  });
});

describe("Intake with the guard", () => {
  it("refuses before writing anything, and writes once there is room", async () => {
    const root = path.join(dir, "intake");
    const spool = await Spool.open(root);
    const full = new Intake({ spool, collectorId: "1", maxBytes: 1 << 20, discard: false, space: new SpoolSpace(root, freeNow() + 1024 ** 4) });
    const rid = "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD";
    const req = () =>
      new Request(`http://x/report/${rid}`, { method: "POST", body: JSON.stringify({ format: "json", content: measurement(rid) }) });
    await expect(full.submitToReport(rid, req())).rejects.toBeInstanceOf(SpoolFullError);
    const submit = () =>
      new Request("http://x/api/v1/submit_measurement", { method: "POST", body: JSON.stringify({ format: "json", content: JSON.stringify(measurement(undefined)) }) });
    await expect(full.submitMeasurement(submit())).rejects.toBeInstanceOf(SpoolFullError);
    expect(listFiles(root)).toEqual([]);

    const roomy = new Intake({ spool, collectorId: "1", maxBytes: 1 << 20, discard: false, space: new SpoolSpace(root, 1024) });
    const ok = await roomy.submitToReport(rid, req());
    expect(listFiles(root)).toEqual([`incoming/${ok.hourDir}/${ok.measurementUid}.post`]);
  });
});
