import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scale } from "../support/reliability";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { FAULT_ENV, freePort, waitScored } from "./support/origin";
import { makeSubmission, newStats, openReports, submitOnce, submitUntilAcked, type Ack, type Submission } from "./support/probes";
import { countStored, expectNothingLost } from "./support/stored";

// Disk nearly full under the spool: submissions are refused with 503 + Retry-After (a probe keeps
// the measurement and retries), never a 4xx (dropped) or a 500, and never a 200 that could not be
// kept. Once space is back, the clients' retries are stored like everything acknowledged before.
//  1. the reserve (SPOOL_MIN_FREE_BYTES) set above the free space there is: everything 503;
//  2. a real small filesystem (tmpfs, when this process may mount one): filled until the reserve
//     refuses, then with the reserve off until the kernel says ENOSPC.

const SUITE = "faults/disk-full";
const origins: OriginProcess[] = [];
const cleanups: (() => void)[] = [];
afterAll(async () => {
  for (const o of origins) await o.kill();
  for (const c of cleanups.reverse()) c();
});

async function start(dataDir: string, port: number, env: Record<string, string>) {
  const o = await startOriginProcess({ dataDir, port, env: { ...FAULT_ENV, ...env } });
  origins.push(o);
  return o;
}

/** A refusal must be the deliberate one: 503 JSON naming the full spool, with Retry-After. */
function expectSpoolFull(r: { status: number; retryAfter: string | null; body: string }) {
  expect(r.status, r.body).toBe(503);
  expect(Number(r.retryAfter)).toBeGreaterThan(0);
  expect(JSON.parse(r.body)).toMatchObject({ error: "measurement could not be stored", reason: "spool_full" });
}

async function health(base: string) {
  const r = await fetch(`${base}/health`);
  return { status: r.status, body: (await r.json()) as { status: string; checks: { spool: { ok: boolean; free_bytes: number | null } } } };
}

function tempFiles(spoolDir: string): string[] {
  const incoming = path.join(spoolDir, "incoming");
  const out: string[] = [];
  for (const d of readdirSync(incoming)) for (const f of readdirSync(path.join(incoming, d))) if (f.endsWith(".tmp")) out.push(f);
  return out;
}

/**
 * Each client submits until its first refusal; returns what was acknowledged and what is still
 * waiting on the "probe" (the refused one, to retry later). Any status but 200/503 fails.
 */
async function fillUntilRefused(base: string, reports: string[], next: { i: number }, padBytes: number) {
  const acks: Ack[] = [];
  const pending: Submission[] = [];
  let refusals = 0;
  await Promise.all(
    reports.map(async (rid) => {
      for (let k = 0; k < 10_000; k++) {
        const s = await makeSubmission(rid, next.i++, padBytes);
        const r = await submitOnce(base, s);
        expect(r, "the origin answers").not.toBeNull();
        if (r!.status === 200) {
          acks.push({ uid: (JSON.parse(r!.body) as { measurement_uid: string }).measurement_uid, reportId: rid, stored: s.stored });
          continue;
        }
        expectSpoolFull(r!);
        refusals++;
        pending.push(s);
        return;
      }
    }),
  );
  return { acks, pending, refusals };
}

describe("disk nearly full for the spool", () => {
  it("reserve above the free space: every submission 503 + Retry-After, nothing written; accepted after", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "faults-diskfull-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const st = statfsSync(dataDir);
    const reserve = st.bavail * st.bsize + 1024 ** 4; // a TiB more than the disk has free
    const N = scale(60, 400);

    let o = await start(dataDir, port, { SPOOL_MIN_FREE_BYTES: String(reserve) });
    const reports = await openReports(o.url, 6);
    const subs = await Promise.all(Array.from({ length: N }, (_, i) => makeSubmission(reports[i % reports.length]!, i, 500)));
    let refused = 0;
    for (let i = 0; i < subs.length; i += 16) {
      for (const r of await Promise.all(subs.slice(i, i + 16).map((s) => submitOnce(o.url, s)))) {
        expect(r).not.toBeNull();
        expectSpoolFull(r!);
        refused++;
      }
    }
    const h = await health(o.url);
    expect(h.status).toBe(200);
    expect(h.body.status).toBe("degraded");
    expect(h.body.checks.spool.ok).toBe(false);
    expect(readdirSync(path.join(dataDir, "spool", "incoming"))).toEqual([]);
    await o.stop();

    // Space "comes back" (the default reserve): the probes' retries are all accepted.
    o = await start(dataDir, port, {});
    expect((await health(o.url)).body.status).toBe("ok");
    const stats = newStats();
    const acks = await Promise.all(subs.map((s) => submitUntilAcked(() => o.url, s, stats)));
    await waitScored(o.url, acks);
    await o.stop();
    const count = await countStored({ DATA_DIR: dataDir }, acks);
    expectNothingLost(SUITE, "reserve", count, { refused_503: refused, retried: N });
  });

  it("a real small filesystem: the reserve refuses first, ENOSPC is a 503 too, retries stored after", async (ctx) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "faults-diskfull-tmpfs-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const spoolDir = path.join(dataDir, "spool");
    mkdirSync(spoolDir);
    const MIB = 1024 * 1024;
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", spoolDir], { stdio: "pipe" });
    } catch (err) {
      console.log(`[reliability] ${SUITE} tmpfs: skipped — cannot mount a tmpfs here (${(err as Error).message.split("\n")[0]})`);
      ctx.skip();
      return;
    }
    cleanups.push(() => {
      try {
        execFileSync("umount", [spoolDir], { stdio: "pipe" });
      } catch {
        // already unmounted
      }
    });
    // Ballast the test frees later, standing in for the uploader or an operator making room.
    writeFileSync(path.join(spoolDir, "ballast-a"), Buffer.alloc(2 * MIB, 1));
    writeFileSync(path.join(spoolDir, "ballast-b"), Buffer.alloc(2 * MIB, 1));
    const RESERVE = MIB;
    const PAD = scale(40_000, 20_000);
    const port = await freePort();
    const next = { i: 0 };
    const acked: Ack[] = [];
    const pending: Submission[] = [];

    // 1. With the reserve: refused before the filesystem is full.
    let o = await start(dataDir, port, { SPOOL_MIN_FREE_BYTES: String(RESERVE) });
    const reports = await openReports(o.url, scale(8, 16));
    const a = await fillUntilRefused(o.url, reports, next, PAD);
    acked.push(...a.acks);
    pending.push(...a.pending);
    const freeAfterReserve = statfsSync(spoolDir).bavail * statfsSync(spoolDir).bsize;
    expect(a.acks.length).toBeGreaterThan(10);
    expect(freeAfterReserve, "the reserve held: the disk never filled").toBeGreaterThan(RESERVE / 2);
    const h = await health(o.url);
    expect(h.body.status).toBe("degraded");
    expect(h.body.checks.spool.ok).toBe(false);

    // Room again: within the guard's refresh period the retries go through.
    rmSync(path.join(spoolDir, "ballast-a"));
    await new Promise((r) => setTimeout(r, 2_100)); // the guard's refresh, and /health's memory of the refusal
    expect((await health(o.url)).body.status).toBe("ok");
    const stats = newStats();
    acked.push(...(await Promise.all(pending.splice(0).map((s) => submitUntilAcked(() => o.url, s, stats)))));
    await o.stop();

    // 2. Reserve off: the kernel's ENOSPC, mid-write, must be the same 503 and leave no temp file.
    o = await start(dataDir, port, { SPOOL_MIN_FREE_BYTES: "0" });
    const b = await fillUntilRefused(o.url, reports, next, PAD);
    acked.push(...b.acks);
    pending.push(...b.pending);
    const freeAtEnospc = statfsSync(spoolDir).bavail * statfsSync(spoolDir).bsize;
    expect(freeAtEnospc, "the filesystem really filled up").toBeLessThan(PAD + 8192);
    expect(tempFiles(spoolDir)).toEqual([]);
    expect(o.logs.some((l) => l.includes("spool short of space"))).toBe(true);

    rmSync(path.join(spoolDir, "ballast-b"));
    acked.push(...(await Promise.all(pending.splice(0).map((s) => submitUntilAcked(() => o.url, s, stats)))));
    await waitScored(o.url, acked);
    await o.stop();
    const count = await countStored({ DATA_DIR: dataDir }, acked);
    expectNothingLost(SUITE, "tmpfs", count, {
      refused_by_reserve: a.refusals,
      refused_by_enospc: b.refusals,
      free_after_reserve: freeAfterReserve,
      free_at_enospc: freeAtEnospc,
    });
  });
});
