import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { scale } from "../support/reliability";
import { adminRun, FAULT_ENV, freePort, waitScored } from "./support/origin";
import { archiveFaultHarness, expectAllSpooled, submitBatch, uploadUntilEmpty } from "./support/archive";
import { newStats, openReports } from "./support/probes";
import { countStored, expectNothingLost } from "./support/stored";

// The archive side of "a measurement acknowledged is never lost", on S3 (s3rver on loopback):
// the blob store goes away — before a run and in the middle of one (after a few PUTs): the uploader
// fails and is retried, the spool keeps every file, byte for byte, and intake goes on; once the
// store is back, every acknowledged measurement is archived exactly once.
// (Crashes between the uploader's steps: uploader-crashes.test.ts.) The count reads the postcans from
// the store.

const SUITE = "faults/blobstore";
const harness = archiveFaultHarness();

describe("blob store unavailable", () => {
  it("S3 unavailable before and during a run: retried, spool keeps everything, archived exactly once after", async () => {
    const t0 = Date.now();
    const dataDir = harness.tempDataDir("outage");
    const port = await freePort();
    const env = { ...FAULT_ENV, ...harness.s3.env("outage"), UPLOADER_CAN_MAX_BYTES: "8000" };
    const o = await harness.start(dataDir, port, env);
    const reports = await openReports(o.url, 3); // three hour directories
    const stats = newStats();
    const N = scale(60, 600);
    const acks = await submitBatch(o.url, reports, 0, N, stats);

    // Down before the run: every run fails, nothing is deleted, intake goes on.
    await harness.s3.stop();
    const RETRIES = scale(3, 6);
    let failedRuns = 0;
    for (let i = 0; i < RETRIES; i++) {
      const r = await adminRun(dataDir, "uploader", ["run", "--all"]);
      expect(r.code).toBe(1);
      expect(r.err).toContain("not archived");
      failedRuns++;
      expectAllSpooled(dataDir, acks);
      acks.push(...(await submitBatch(o.url, reports, N + i * 10, 10, stats)));
    }
    const h = await fetch(`${o.url}/health`);
    expect(h.status).toBe(503);
    expect(((await h.json()) as { checks: { blob_store: { ok: boolean } } }).checks.blob_store.ok).toBe(false);

    // Back, then gone again after a few PUTs of the next run: a run cut in the middle.
    await harness.s3.start();
    const cut = harness.s3.stopAfterPuts(3);
    const interrupted = await adminRun(dataDir, "uploader", ["run", "--all"]);
    await cut;
    expect(interrupted.code, interrupted.out).toBe(1);
    failedRuns++;
    expectAllSpooled(dataDir, acks);
    const journals = readdirSync(path.join(dataDir, "spool", "uploader")).filter((n) => n.endsWith(".json"));
    expect(journals.length, "the interrupted runs left their journals").toBeGreaterThan(0);

    // Back for good: everything archived, the interrupted runs finished first.
    await harness.s3.start();
    const out = await uploadUntilEmpty(dataDir);
    expect(out).toContain("(finished an interrupted run)");
    await waitScored(o.url, acks);
    await o.stop();
    const count = await countStored({ DATA_DIR: dataDir, ...env }, acks);
    expectNothingLost(SUITE, "s3-outage", count, {
      failed_runs: failedRuns,
      postcans: count.postcans,
      seconds: Math.round((Date.now() - t0) / 1000),
    });
    expect(count.inArchive).toBe(count.acknowledged);
    expect(count.inSpool).toBe(0);
  });
});
