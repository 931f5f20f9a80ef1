import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeMeasurementUid } from "../../../origin/src/intake/measurement-uid";
import { Spool, SpoolPathError, type SpoolEntry } from "../../../origin/src/intake/spool";

const dirs: string[] = [];
function tempRoot() {
  const d = mkdtempSync(path.join(tmpdir(), "spool-test-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function uidFor(cc: string, test: string, body: Buffer) {
  return makeMeasurementUid(cc, test, body);
}

describe("Spool", () => {
  it("writes {YYYYMMDDHH}_{CC}_{testname}/{uid}.post with exactly the given bytes", async () => {
    const root = tempRoot();
    const spool = await Spool.open(root);
    const body = Buffer.from('{"format":"json","content":{"a":1}}');
    const uid = uidFor("IT", "web_connectivity", body);
    const entry = await spool.write(uid, body);
    const hourDir = `${uid.slice(0, 10)}_IT_webconnectivity`;
    expect(entry).toEqual({ uid, hourDir, path: path.join(root, "incoming", hourDir, `${uid}.post`), size: body.length });
    expect(await spool.listHourDirs()).toEqual([hourDir]);
    expect(await spool.listFiles(hourDir)).toEqual([uid]);
    expect(await spool.read(hourDir, uid)).toEqual(body);
    expect((await spool.find(uid))?.data).toEqual(body);
    expect(readdirSync(path.join(root, "incoming", hourDir))).toEqual([`${uid}.post`]); // no temp file left
    expect(statSync(entry.path).mode & 0o777).toBe(0o644);
  });

  it("keeps every one of many concurrent writes (shared directory fsyncs lose nothing)", async () => {
    const spool = await Spool.open(tempRoot());
    const bodies = Array.from({ length: 300 }, (_, i) => Buffer.from(JSON.stringify({ i, pad: "x".repeat(i % 50) })));
    const uids = bodies.map((b, i) => uidFor(i % 2 ? "IT" : "US", i % 3 ? "ndt" : "web_connectivity", b));
    await Promise.all(uids.map((u, i) => spool.write(u, bodies[i]!)));
    const listed = (await Promise.all((await spool.listHourDirs()).map((d) => spool.listFiles(d)))).flat();
    expect(listed.sort()).toEqual([...uids].sort());
    for (const [i, u] of uids.entries()) expect((await spool.find(u))?.data).toEqual(bodies[i]);
  });

  it("refuses anything that is not a uid or hour directory instead of touching the path", async () => {
    const spool = await Spool.open(tempRoot());
    for (const bad of ["../x", "x/../../y", "", "20210208220710.181572_MA_ndt_7888edc7748936bf/..", "a\u0000b"]) {
      await expect(spool.write(bad, Buffer.from("x"))).rejects.toThrow(SpoolPathError);
      expect(await spool.find(bad)).toBeNull();
      await expect(spool.listFiles(bad)).rejects.toThrow(SpoolPathError);
    }
    const uid = uidFor("IT", "ndt", Buffer.from("x"));
    // A real uid with a directory it does not belong to is refused too.
    await expect(spool.read("2000010100_US_ndt", uid)).rejects.toThrow(SpoolPathError);
    expect(await spool.find(uid)).toBeNull(); // well-formed but absent
  });

  it("removes files and empty hour directories", async () => {
    const spool = await Spool.open(tempRoot());
    const body = Buffer.from("{}");
    const uid = uidFor("DE", "tor", body);
    const { hourDir } = await spool.write(uid, body);
    expect(await spool.removeHourDirIfEmpty(hourDir)).toBe(false);
    expect(await spool.remove(hourDir, uid)).toBe(true);
    expect(await spool.remove(hourDir, uid)).toBe(false);
    expect(await spool.removeHourDirIfEmpty(hourDir)).toBe(true);
    expect(await spool.listHourDirs()).toEqual([]);
    // Writing again into the removed hour directory works (the directory cache is not trusted).
    await spool.write(uid, body);
    expect(await spool.listFiles(hourDir)).toEqual([uid]);
  });

  it("notifies listeners after the write, off the caller's path, and survives failing listeners", async () => {
    const spool = await Spool.open(tempRoot(), { onListenerError: (err) => errors.push(err) });
    const errors: unknown[] = [];
    const seen: SpoolEntry[] = [];
    spool.onWrite(() => {
      throw new Error("listener bug");
    });
    const off = spool.onWrite((e) => {
      seen.push(e);
    });
    const body = Buffer.from("{}");
    const uid = uidFor("IT", "ndt", body);
    await spool.write(uid, body);
    expect(seen).toEqual([]); // not yet: notification is deferred
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(seen.map((e) => e.uid)).toEqual([uid]);
    expect(errors).toHaveLength(1);
    off();
    await spool.write(uidFor("IT", "ndt", Buffer.from("[]")), Buffer.from("[]"));
    await new Promise((r) => setTimeout(r, 5));
    expect(seen).toHaveLength(1);
  });

  it("on open, removes stale temp files a crash left behind and keeps everything else", async () => {
    const root = tempRoot();
    const spool = await Spool.open(root);
    const body = Buffer.from("{}");
    const uid = uidFor("IT", "ndt", body);
    const { hourDir } = await spool.write(uid, body);
    const dir = path.join(root, "incoming", hourDir);
    const stale = path.join(dir, `.${uid}.dead.tmp`);
    const fresh = path.join(dir, `.${uid}.live.tmp`);
    writeFileSync(stale, "partial");
    writeFileSync(fresh, "partial");
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, old, old);
    await Spool.open(root);
    expect(readdirSync(dir).sort()).toEqual([`.${uid}.live.tmp`, `${uid}.post`].sort());
    expect(await spool.listFiles(hourDir)).toEqual([uid]); // temp files are never listed
  });
});
