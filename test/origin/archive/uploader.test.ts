import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildArchive } from "../../../origin/src/archive/build";
import { uploaderCommand } from "../../../origin/src/archive/command";
import { JournalStore } from "../../../origin/src/archive/journal";
import { UploaderBusyError } from "../../../origin/src/archive/lock";
import { ensureScored, NotScoredError, unscored } from "../../../origin/src/archive/scoring";
import { runUploader } from "../../../origin/src/archive/uploader";
import type { CommandOutput } from "../../../origin/src/commands/types";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { makeMeasurementUid } from "../../../origin/src/intake/measurement-uid";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";
import { inspectArchive } from "./inspect";
import { sha256, submitAndScore } from "./support";

// The uploader's decisions, in one process: which hours it takes, what it refuses to delete, how it
// resumes, and that two uploaders never run at once.

let o: InProcessOrigin;
const HOUR = 3_600_000;

beforeAll(async () => {
  o = await startInProcessOrigin({ UPLOADER_CAN_MAX_BYTES: "8000" });
});
afterAll(async () => {
  await o?.close();
});

/** Each test starts from an archived-and-empty spool. */
beforeEach(async () => {
  const r = await runUploader(o.services, { all: true });
  expect(r.failed).toEqual([]);
});

const totalMeasurements = (r: Awaited<ReturnType<typeof runUploader>>) => r.archived.reduce((n, x) => n + x.measurements, 0);

describe("which hour directories", () => {
  it("only hours that are over, unless all", async () => {
    const sent = await submitAndScore(o.app, o.services, 3);
    const hourOf = new Date(Math.max(...sent.map((s) => Date.UTC(+s.uid.slice(0, 4), +s.uid.slice(4, 6) - 1, +s.uid.slice(6, 8), +s.uid.slice(8, 10)))));
    expect((await runUploader(o.services, { now: new Date(hourOf.getTime() + 59 * 60_000) })).archived).toEqual([]);
    expect(totalMeasurements(await runUploader(o.services, { now: new Date(hourOf.getTime() + HOUR) }))).toBe(3);
    expect(await o.services.spool.listHourDirs()).toEqual([]);
  });
});

describe("never deletes what is not archived and scored", () => {
  it("keeps the spool files while the scoring guard refuses, then resumes the same run", async () => {
    const held = await submitAndScore(o.app, o.services, 2, 100);
    const first = await runUploader(o.services, {
      all: true,
      ensureScored: async (_s, _d, uids) => {
        throw new NotScoredError(uids);
      },
    });
    expect(first.archived).toEqual([]);
    expect(first.failed.length).toBeGreaterThanOrEqual(1);
    expect(first.failed[0]!.error).toMatch(/no fastpath row/);
    // Stored and indexed, but not committed: the spool still has them, and serves them.
    for (const s of held) expect(await o.services.spool.find(s.uid)).not.toBeNull();
    expect((await new JournalStore(o.services.spool.root).list()).length).toBe(first.failed.length);
    const res = await o.app.request(`/api/v1/raw_measurement?measurement_uid=${held[1]!.uid}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(held[1]!.bytes)).toBe(true);

    const second = await runUploader(o.services, { all: true });
    expect(second.failed).toEqual([]);
    expect(second.archived.every((r) => r.resumed)).toBe(true);
    expect(totalMeasurements(second)).toBe(2);
    const st = await inspectArchive(o.services, o.app, held.map((s) => s.uid));
    expect(st.spoolFiles).toBe(0);
    expect(st.journals).toEqual([]);
    for (const s of held) expect(st.bodies[s.uid]).toMatchObject({ status: 200, sha256: sha256(s.bytes) });
    const [n] = await queryRows<{ n: number }>(o.services.db, "SELECT count() AS n FROM jsonl FINAL WHERE measurement_uid IN {u:Array(String)}", {
      u: held.map((s) => s.uid),
    });
    expect(Number(n!.n)).toBe(2);
  });

  it("the default guard has the fastpath score what has no row yet, and accepts files that are not measurements", async () => {
    const [s] = await submitAndScore(o.app, o.services, 1, 200);
    const garbage = Buffer.from("this is not JSON");
    const bad = makeMeasurementUid("IT", "ndt", garbage);
    await o.services.spool.write(bad, garbage);
    // The live pipeline scores the new file too: let its INSERT land first, or it may bring the
    // row back after the DELETE below (seen as a flake under load).
    await o.services.fastpath?.idle();
    await o.services.db.client.command({
      query: "ALTER TABLE fastpath DELETE WHERE measurement_uid = {uid:String} SETTINGS mutations_sync = 2",
      query_params: { uid: s!.uid },
    });
    expect(await unscored(o.services.db, [s!.uid])).toEqual([s!.uid]);
    const hourDir = (await o.services.spool.listHourDirs()).find((d) => s!.uid.startsWith(d.slice(0, 10)) && d.endsWith(s!.testName.replace(/_/g, "")))!;
    await ensureScored(o.services, hourDir, [s!.uid]);
    expect(await unscored(o.services.db, [s!.uid])).toEqual([]);
    await ensureScored(o.services, `${bad.slice(0, 10)}_IT_ndt`, [bad]);
    // Not in the spool (nothing to score) and no row: refused.
    await expect(ensureScored(o.services, "2001010100_IT_ndt", ["20010101000000.000000_IT_ndt_0123456789abcdef"])).rejects.toThrow(NotScoredError);
  });

  it("a .post file that is not a measurement envelope goes into the postcan only, and is then deleted", async () => {
    const garbage = Buffer.from("this is not JSON");
    const uid = makeMeasurementUid("IT", "ndt", garbage);
    await o.services.spool.write(uid, garbage);
    const [ok] = await submitAndScore(o.app, o.services, 1, 300);
    const r = await runUploader(o.services, { all: true });
    expect(r.failed).toEqual([]);
    expect(await o.services.spool.find(uid)).toBeNull();
    const st = await inspectArchive(o.services, o.app, [uid, ok!.uid]);
    expect(st.tarMembers).toContain(`${uid.slice(0, 10)}_IT_ndt/${uid}.post`);
    expect(st.bodies[uid]!.status).toBe(404); // not in JSONL, so not servable
    expect(st.bodies[ok!.uid]!.status).toBe(200);
  });
});

describe("repeatable", () => {
  it("building a journal twice gives identical files and rows", async () => {
    const sent = await submitAndScore(o.app, o.services, 6, 400);
    const hourDir = (await o.services.spool.listHourDirs())[0]!;
    const uids = await o.services.spool.listFiles(hourDir);
    const journal = { v: 1 as const, hourDir, collectorId: "1", firstN: 0, canMaxBytes: 3000, uids, committed: false };
    const work = path.join(o.services.spool.root, "test-work");
    const digest = (files: { key: string; file: string }[]) =>
      files.map((f) => `${f.key}:${createHash("sha256").update(readFileSync(f.file)).digest("hex")}`);
    const a = await buildArchive(o.services.spool, journal, work, o.services.log);
    const aFiles = digest(a.files);
    const b = await buildArchive(o.services.spool, journal, work, o.services.log);
    expect(digest(b.files)).toEqual(aFiles);
    expect(b.rows).toEqual(a.rows);
    expect(a.rows.map((r) => r.measurement_uid)).toEqual([...uids].sort());
    expect(a.files.length).toBeGreaterThan(2);
    expect(sent.length).toBe(6);
  });

  it("an aborted run stops, releases the lock, and the next run completes it", async () => {
    const sent = await submitAndScore(o.app, o.services, 2, 500);
    const ac = new AbortController();
    const r = runUploader(o.services, {
      all: true,
      signal: ac.signal,
      ensureScored: async () => {
        ac.abort();
      },
    });
    await expect(r).rejects.toThrow();
    const done = await runUploader(o.services, { all: true });
    expect(done.failed).toEqual([]);
    const st = await inspectArchive(o.services, o.app, sent.map((s) => s.uid));
    expect(st.spoolFiles).toBe(0);
    for (const s of sent) expect(st.bodies[s.uid]?.sha256).toBe(sha256(s.bytes));
  });

  it("a journal whose measurements vanished is reported, and other hours still proceed", async () => {
    const [a] = await submitAndScore(o.app, o.services, 1, 600);
    const hourDir = (await o.services.spool.listHourDirs())[0]!;
    const journals = new JournalStore(o.services.spool.root);
    await journals.write({ v: 1, hourDir: "2001010100_IT_ndt", collectorId: "1", firstN: 0, canMaxBytes: 100, uids: ["20010101000000.000000_IT_ndt_0123456789abcdef"], committed: false });
    const r = await runUploader(o.services, { all: true });
    expect(r.failed).toEqual([{ hourDir: "2001010100_IT_ndt", error: expect.stringMatching(/vanished/) }]);
    expect(r.archived.map((x) => x.hourDir)).toEqual([hourDir]);
    expect(await o.services.spool.find(a!.uid)).toBeNull();
    await journals.remove("2001010100_IT_ndt");
  });

  it("an unreadable journal is an error for its hour only", async () => {
    const journals = new JournalStore(o.services.spool.root);
    mkdirSync(journals.dir, { recursive: true });
    writeFileSync(path.join(journals.dir, "2001010100_IT_ndt.json"), '{"v":1,"hourDir":"../../x"}');
    const r = await runUploader(o.services, { all: true });
    expect(r.failed).toEqual([{ hourDir: "2001010100_IT_ndt", error: expect.stringMatching(/unreadable uploader journal/) }]);
    await journals.remove("2001010100_IT_ndt");
  });
});

describe("one uploader at a time", () => {
  it("a second concurrent run is refused", async () => {
    await submitAndScore(o.app, o.services, 1, 700);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = runUploader(o.services, {
      all: true,
      ensureScored: async () => {
        entered();
        await gate;
      },
    });
    await inside;
    await expect(runUploader(o.services, { all: true })).rejects.toThrow(UploaderBusyError);
    release();
    expect((await first).failed).toEqual([]);
  });

  it("a lock left by a dead process is taken over", async () => {
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const journals = new JournalStore(o.services.spool.root);
    mkdirSync(journals.dir, { recursive: true });
    writeFileSync(path.join(journals.dir, "lock"), dead.stdout);
    await submitAndScore(o.app, o.services, 1, 800);
    expect((await runUploader(o.services, { all: true })).archived).toHaveLength(1);
  });

  it("a lock held by a live process is respected", async () => {
    const journals = new JournalStore(o.services.spool.root);
    mkdirSync(journals.dir, { recursive: true });
    writeFileSync(path.join(journals.dir, "lock"), String(process.ppid));
    await expect(runUploader(o.services, { all: true })).rejects.toThrow(/already running \(pid/);
    writeFileSync(path.join(journals.dir, "lock"), "");
  });
});

describe("uploader command", () => {
  const io = () => {
    const lines = { out: "", err: "" };
    const out: CommandOutput = { out: (t) => void (lines.out += t), err: (t) => void (lines.err += t), interactive: false };
    return { lines, out };
  };

  it("checks its arguments and reports what it did", async () => {
    const bad = io();
    expect(await uploaderCommand.runWith(o.services, ["upload"], bad.out, new AbortController().signal)).toBe(2);
    expect(await uploaderCommand.runWith(o.services, ["run", "--everything"], bad.out, new AbortController().signal)).toBe(2);
    expect(bad.lines.err).toContain("usage: npm run cli -- uploader run [--all]");
    const idle = io();
    expect(await uploaderCommand.runWith(o.services, ["run", "--all"], idle.out, new AbortController().signal)).toBe(0);
    expect(idle.lines.out).toBe("nothing to archive\n");
    await submitAndScore(o.app, o.services, 2, 900);
    const busy = io();
    expect(await uploaderCommand.runWith(o.services, ["run", "--all"], busy.out, new AbortController().signal)).toBe(0);
    expect(busy.lines.out).toMatch(/_[A-Z]{2}_[a-z]+: 1 measurement\(s\), 2 file\(s\), \d+ bytes stored\n/);
  });
});
