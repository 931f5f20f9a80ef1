import { describe, expect, it } from "vitest";
import { UPLOADER_STEPS, type UploaderStep } from "../../origin/src/archive/steps";
import { FULL, scale } from "../support/reliability";
import { archiveFaultHarness, submitBatch, uploadUntilEmpty } from "./support/archive";
import { adminRun, FAULT_ENV, freePort, waitScored } from "./support/origin";
import { newStats, openReports, type Ack } from "./support/probes";
import { countStored, expectNothingLost } from "./support/stored";

// The uploader killed (OONI_UPLOADER_CRASH_AT, inside the serving origin, so the origin dies with it,
// like a power cut) at successive step boundaries, with new submissions between crashes, the origin
// restarted each time on the same DATA_DIR; each restart resumes the interrupted run and dies at the
// next boundary. At the end every acknowledged measurement is archived exactly once (on S3, s3rver
// on loopback), has its fastpath row, and the spool is empty. test/origin/archive/crash-suite.ts
// checks each boundary alone, in detail; this is the cumulative run with a final count.

const SUITE = "faults/blobstore";
const harness = archiveFaultHarness();

describe("uploader crashes", () => {
  // Quick: every other boundary, in order; full: all ten.
  const steps: UploaderStep[] = FULL ? [...UPLOADER_STEPS] : ["planned", "storing", "indexed", "committed", "deleting", "dir-removed"];

  it(`uploader killed at successive step boundaries (${steps.join(", ")}): archived exactly once`, async () => {
    const t0 = Date.now();
    const dataDir = harness.tempDataDir("crash");
    const port = await freePort();
    const env = { ...FAULT_ENV, ...harness.s3.env("crash"), UPLOADER_CAN_MAX_BYTES: "8000" };
    const stats = newStats();
    const acks: Ack[] = [];
    const PER_ROUND = scale(15, 40);
    let reports: string[] = [];
    let crashes = 0;
    for (const [round, step] of steps.entries()) {
      const o = await harness.start(dataDir, port, { ...env, OONI_UPLOADER_CRASH_AT: step });
      if (!reports.length) reports = await openReports(o.url, 3);
      acks.push(...(await submitBatch(o.url, reports, round * PER_ROUND, PER_ROUND, stats)));
      // The uploader kills the whole origin at the boundary; the admin call loses its socket.
      const r = await adminRun(dataDir, "uploader", ["run", "--all"]).catch((err: Error) => ({ code: null, out: "", err: err.message }));
      await new Promise<void>((resolve) => (o.child.exitCode !== null || o.child.signalCode !== null ? resolve() : o.child.once("exit", () => resolve())));
      expect(o.child.signalCode, `no crash at "${step}": ${JSON.stringify(r)}`).toBe("SIGKILL");
      expect(o.logs.join("\n")).toContain(`crashing after step "${step}"`);
      crashes++;
    }
    const o = await harness.start(dataDir, port, env);
    acks.push(...(await submitBatch(o.url, reports, steps.length * PER_ROUND, PER_ROUND, stats)));
    const out = await uploadUntilEmpty(dataDir);
    expect(out).toContain("(finished an interrupted run)");
    await waitScored(o.url, acks);
    await o.stop();
    const count = await countStored({ DATA_DIR: dataDir, ...env }, acks);
    expectNothingLost(SUITE, "uploader-crashes", count, {
      crashes,
      steps: steps.join("/"),
      postcans: count.postcans,
      seconds: Math.round((Date.now() - t0) / 1000),
    });
    expect(count.inArchive).toBe(count.acknowledged);
    expect(count.inSpool).toBe(0);
  });
});
