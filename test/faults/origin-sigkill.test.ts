import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bodyHash16, formatMeasurementUid, receptionMicros } from "../../origin/src/intake/measurement-uid";
import { Spool } from "../../origin/src/intake/spool";
import { scale } from "../support/reliability";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { FAULT_ENV, freePort, waitScored } from "./support/origin";
import { makeSubmission, newStats, openReports, submitUntilAcked, uidMatches, type Ack } from "./support/probes";
import { countStored, expectNothingLost } from "./support/stored";

// "A measurement acknowledged is never lost": a storm of probe-like clients (both submission
// endpoints, identity/gzip/zstd) while the origin is SIGKILLed again and again and restarted on the
// same DATA_DIR and port. Clients retry what got no answer or a 5xx, as probes do. At the end the
// fastpath catches up, the origin stops, and every acknowledged uid must be in the spool
// byte-identical and have exactly one fastpath row. And by content: a retry of a submission whose
// write completed but whose 200 was lost in a kill gets the uid already stored, so no measurement
// is in the spool (or the fastpath) twice under two uids — also for submissions that name no report
// (current probes), whose report id the origin derives from the body so a retry has the same bytes.

const SUITE = "faults/origin-sigkill";
const KILLS = scale(3, 10);
const CLIENTS = scale(16, 64);
const PER_CLIENT = scale(25, 50);

const dataDir = mkdtempSync(path.join(tmpdir(), "faults-sigkill-"));
let origin: OriginProcess | null = null;
afterAll(async () => {
  await origin?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("origin SIGKILLed repeatedly during a submission storm", () => {
  it(`${KILLS} kills, ${CLIENTS} clients × ${PER_CLIENT}: nothing acknowledged is lost or duplicated`, async () => {
    const t0 = Date.now();
    const port = await freePort();
    const start = async () => (origin = await startOriginProcess({ dataDir, port, env: FAULT_ENV }));
    let o = await start();
    const base = () => o.url;
    const reports = await openReports(o.url, CLIENTS);

    const acks: Ack[] = [];
    const stats = newStats();
    let badUids = 0;
    let currentAcked = 0;
    const client = async (c: number) => {
      for (let i = 0; i < PER_CLIENT; i++) {
        // Three paths: /report/{id}, submit_measurement naming its report, and submit_measurement
        // as current probes send it (report_id "", the server names the report).
        const s = await makeSubmission(reports[c]!, i, (i * 97) % 4000, ["report", "submit", "current"]);
        if (s.endpoint === "current") currentAcked++;
        const ack = await submitUntilAcked(base, s, stats);
        if (!uidMatches(ack.uid, ack.stored)) badUids++;
        acks.push(ack);
      }
    };
    const clients = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    // Kill whenever another share of the storm has been acknowledged; restart at once.
    const total = CLIENTS * PER_CLIENT;
    const killer = (async () => {
      for (let k = 1; k <= KILLS; k++) {
        const target = Math.floor((total * k) / (KILLS + 1));
        while (acks.length < target) await new Promise((r) => setTimeout(r, 5));
        await o.kill();
        expect(o.child.signalCode).toBe("SIGKILL");
        o = await start();
      }
    })();
    await Promise.all([clients, killer]);
    expect(acks.length).toBe(total);
    expect(badUids).toBe(0);
    // The kills hit requests in flight (else this test proves little).
    expect(stats.noAnswer).toBeGreaterThan(0);

    await waitScored(o.url, acks);
    await o.stop();
    origin = null;
    const count = await countStored({ DATA_DIR: dataDir }, acks);
    expectNothingLost(SUITE, "storm", count, {
      kills: KILLS,
      clients: CLIENTS,
      attempts: stats.attempts,
      no_answer: stats.noAnswer,
      acknowledged_without_report_id: currentAcked,
      http_5xx: Object.values(stats.serverErrors).reduce((a, b) => a + b, 0),
      seconds: Math.round((Date.now() - t0) / 1000),
    });
    expect(count.inSpool).toBe(count.acknowledged);
    expect(count.retryDuplicates, "measurements stored twice under two uids").toBe(0);
    expect(count.measurementDuplicates, "measurements stored twice, report id aside").toBe(0);
    expect(count.storedContents).toBe(count.acknowledgedContents);
    expect(count.distinctRows, "scored uids").toBe(count.acknowledged);

    // The count can fail: one acknowledged measurement whose bytes differ, one uid never stored, and
    // one measurement stored a second time under another uid.
    const [first, second, ...rest] = acks;
    const spool = await Spool.open(path.join(dataDir, "spool"));
    const copyUid = formatMeasurementUid("IT", "webconnectivity", bodyHash16(rest[0]!.stored), receptionMicros());
    await spool.write(copyUid, rest[0]!.stored);
    // And what the old intake did to a current probe's retry: the same measurement, another report id.
    const current = rest.find((a) => a.stored.includes('"report_id":""'))!;
    const renamed = Buffer.from(current.stored.toString().replace(current.reportId, current.reportId.replace(/.{16}$/, "RetriedUnderANew")));
    await spool.write(formatMeasurementUid("IT", "webconnectivity", bodyHash16(renamed), receptionMicros()), renamed);
    const tampered = await countStored({ DATA_DIR: dataDir }, [
      { ...first!, stored: Buffer.concat([first!.stored, Buffer.from(" ")]) },
      { ...second!, uid: second!.uid.replace(/[0-9a-f]{16}$/, "0000000000000000") },
      ...rest,
    ]);
    expect(tampered.stored).toBe(acks.length - 2);
    expect(tampered.missing.length).toBe(2);
    expect(tampered.retryDuplicates).toBe(1);
    expect(tampered.measurementDuplicates).toBe(2);
  });
});
