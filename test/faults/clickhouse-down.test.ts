import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scale } from "../support/reliability";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { FAULT_ENV, freePort, waitScored } from "./support/origin";
import { makeSubmission, openReports, submitOnce, type Ack } from "./support/probes";
import { countStored, expectNothingLost } from "./support/stored";

// ClickHouse unavailable for a while (FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE: every ClickHouse
// call of the fastpath fails while the file exists). The intake does not depend on ClickHouse: every
// submission gets its 200 at once. The fastpath's backlog outgrows FASTPATH_MAX_PENDING (so it drops
// what it holds and must find it in the spool again), and the origin is SIGKILLed while ClickHouse
// is still down (everything in memory is gone). Once ClickHouse is back, every acknowledged
// measurement gets exactly one row.
// Then the same for real: embedded ClickHouse's own directory on a small tmpfs that fills up (chDB
// answers NOT_ENOUGH_SPACE), when this process may mount one.

const SUITE = "faults/clickhouse-down";
const CLIENTS = scale(8, 32);
const DOWN_MS = scale(6_000, 45_000);

const tmp = mkdtempSync(path.join(tmpdir(), "faults-chdown-"));
const dataDir = path.join(tmp, "data");
const faultFile = path.join(tmp, "clickhouse-down");
let origin: OriginProcess | null = null;
afterAll(async () => {
  await origin?.kill();
  rmSync(tmp, { recursive: true, force: true });
});

const ENV = { ...FAULT_ENV, FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE: faultFile, FASTPATH_MAX_PENDING: "100" };

describe("ClickHouse unavailable for a while", () => {
  it("intake answers 200 throughout; the fastpath catches up after, also across a SIGKILL while down", async () => {
    const t0 = Date.now();
    const port = await freePort();
    let o = (origin = await startOriginProcess({ dataDir, port, env: ENV }));
    const reports = await openReports(o.url, CLIENTS);
    const acks: Ack[] = [];
    const next = new Array<number>(CLIENTS).fill(0);
    const statuses: Record<number, number> = {};

    /** Every client submits for `ms`; each submission must be a 200 the first time. */
    const storm = async (ms: number) => {
      const until = Date.now() + ms;
      const before = acks.length;
      await Promise.all(
        reports.map(async (rid, c) => {
          while (Date.now() < until) {
            const s = await makeSubmission(rid, next[c]!++, 300);
            const r = await submitOnce(o.url, s);
            const status = r?.status ?? 0;
            statuses[status] = (statuses[status] ?? 0) + 1;
            expect(status, r?.body).toBe(200);
            acks.push({ uid: (JSON.parse(r!.body) as { measurement_uid: string }).measurement_uid, reportId: rid, stored: s.stored });
          }
        }),
      );
      return acks.slice(before);
    };

    const up = await storm(scale(2_000, 10_000));
    await waitScored(o.url, up);

    // Down: the intake keeps going; no row appears.
    writeFileSync(faultFile, "");
    const down1 = await storm(DOWN_MS / 2);
    expect(o.logs.some((l) => l.includes("fastpath insert failed"))).toBe(true);
    // More than the fastpath may hold: it has to drop and rescan.
    expect(down1.length).toBeGreaterThan(100);
    await o.kill();
    o = origin = await startOriginProcess({ dataDir, port, env: ENV });
    const down2 = await storm(DOWN_MS / 2);
    await new Promise((r) => setTimeout(r, 1_000)); // several flush periods
    const visible = await fetch(`${o.url}/api/v1/measurements?report_id=${reports[0]}&limit=1000`).then((r) => r.json() as Promise<{ results: { measurement_uid: string }[] }>);
    const downUids = new Set([...down1, ...down2].map((a) => a.uid));
    expect(visible.results.filter((x) => downUids.has(x.measurement_uid)), "no row while ClickHouse is down").toEqual([]);

    // Back.
    const downFor = Date.now();
    rmSync(faultFile);
    const after = await storm(scale(1_000, 5_000));
    await waitScored(o.url, acks, 180_000);
    const catchUpS = (Date.now() - downFor) / 1000;
    await o.stop();
    origin = null;

    const count = await countStored({ DATA_DIR: dataDir }, acks);
    expectNothingLost(SUITE, "down-then-back", count, {
      before: up.length,
      while_down: down1.length + down2.length,
      after: after.length,
      http_200: statuses[200] ?? 0,
      catch_up_s: catchUpS.toFixed(1),
      seconds: Math.round((Date.now() - t0) / 1000),
    });
  });

  it("real: ClickHouse's disk full (tmpfs) — intake 200 throughout, also across a restart; rows after space is back", async (ctx) => {
    const t0 = Date.now();
    const dir = mkdtempSync(path.join(tmpdir(), "faults-chdisk-"));
    const chDir = path.join(dir, "clickhouse");
    mkdirSync(chDir);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", chDir], { stdio: "pipe" });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      console.log(`[reliability] ${SUITE} disk-full: skipped — cannot mount a tmpfs here (${(err as Error).message.split("\n")[0]})`);
      ctx.skip();
      return;
    }
    try {
      const env = { ...FAULT_ENV, FASTPATH_MAX_PENDING: "100" };
      const port = await freePort();
      let o = (origin = await startOriginProcess({ dataDir: dir, port, env }));
      const reports = await openReports(o.url, 4);
      const acks: Ack[] = [];
      let n = 0;
      const burst = async (count: number) => {
        const out: Ack[] = [];
        for (let i = 0; i < count; i += 8) {
          const subs = await Promise.all(Array.from({ length: Math.min(8, count - i) }, (_, k) => makeSubmission(reports[k % 4]!, n++, 2_000)));
          for (const [k, r] of (await Promise.all(subs.map((s) => submitOnce(o.url, s)))).entries()) {
            expect(r?.status, r?.body).toBe(200);
            out.push({ uid: (JSON.parse(r!.body) as { measurement_uid: string }).measurement_uid, reportId: subs[k]!.reportId, stored: subs[k]!.stored });
          }
        }
        acks.push(...out);
        return out;
      };
      await waitScored(o.url, await burst(40));

      // Fill ClickHouse's filesystem (not the spool's) to the last 64 KiB.
      const st = statfsSync(chDir);
      writeFileSync(path.join(chDir, "ballast"), Buffer.alloc(Math.max(0, st.bavail * st.bsize - 64 * 1024), 1));
      const during = await burst(scale(150, 1_000));
      await new Promise((r) => setTimeout(r, 1_000));
      expect(o.logs.some((l) => l.includes("NOT_ENOUGH_SPACE")), "chDB refused for lack of space").toBe(true);
      // Restart while it is still full: the origin must come up and take submissions.
      await o.kill();
      o = origin = await startOriginProcess({ dataDir: dir, port, env });
      during.push(...(await burst(scale(50, 300))));

      rmSync(path.join(chDir, "ballast"));
      const back = Date.now();
      await waitScored(o.url, acks, 180_000);
      const catchUpS = (Date.now() - back) / 1000;
      await o.stop();
      origin = null;
      const count = await countStored({ DATA_DIR: dir }, acks);
      expectNothingLost(SUITE, "disk-full", count, {
        while_full: during.length,
        catch_up_s: catchUpS.toFixed(1),
        seconds: Math.round((Date.now() - t0) / 1000),
      });
    } finally {
      await origin?.kill();
      origin = null;
      execFileSync("umount", [chDir], { stdio: "pipe" });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
