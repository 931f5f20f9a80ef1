import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { startOutageS3, type OutageS3 } from "./s3";
import { adminRun } from "./origin";
import { makeSubmission, submitUntilAcked, type Ack, type RetryStats } from "./probes";

// Shared by the archive fault suites (blobstore-outage, uploader-crashes).

/** Every acknowledged file is in the spool, byte for byte (read straight from the disk). */
export function expectAllSpooled(dataDir: string, acks: Ack[]) {
  const incoming = path.join(dataDir, "spool", "incoming");
  const onDisk = new Map<string, string>();
  for (const d of existsSync(incoming) ? readdirSync(incoming) : []) {
    for (const f of readdirSync(path.join(incoming, d))) {
      if (f.endsWith(".post")) onDisk.set(f.slice(0, -5), createHash("sha256").update(readFileSync(path.join(incoming, d, f))).digest("hex"));
    }
  }
  const lost = acks.filter((a) => onDisk.get(a.uid) !== createHash("sha256").update(a.stored).digest("hex"));
  expect(lost.map((a) => a.uid), "acknowledged but not in the spool").toEqual([]);
}

export async function submitBatch(base: string, reports: string[], from: number, n: number, stats: RetryStats): Promise<Ack[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, k) => submitUntilAcked(() => base, await makeSubmission(reports[k % reports.length]!, from + k, 2_500), stats)),
  );
}

/** Runs `uploader run --all` in the origin until it reports nothing left; returns the runs' outputs. */
export async function uploadUntilEmpty(dataDir: string): Promise<string> {
  let all = "";
  for (let i = 0; i < 10; i++) {
    const r = await adminRun(dataDir, "uploader", ["run", "--all"]);
    all += r.out + r.err;
    expect(r.code, r.err).toBe(0);
    if (r.out.includes("nothing to archive")) return all;
  }
  throw new Error(`uploader did not finish in 10 runs:\n${all}`);
}

/**
 * Per-file lifecycle of the archive fault suites: one s3rver that can go away and come back, origins
 * killed at the end whatever happened, temp data directories removed.
 */
export function archiveFaultHarness() {
  const cleanups: (() => Promise<void> | void)[] = [];
  const origins: OriginProcess[] = [];
  let s3: OutageS3 | undefined;
  beforeAll(async () => {
    s3 = await startOutageS3();
  });
  afterAll(async () => {
    for (const o of origins) await o.kill();
    await s3?.close();
    for (const c of cleanups.reverse()) await c();
  });
  return {
    get s3(): OutageS3 {
      if (!s3) throw new Error("s3rver is not started yet (use it inside a test)");
      return s3;
    },
    tempDataDir(name: string): string {
      const dir = mkdtempSync(path.join(tmpdir(), `faults-blob-${name}-`));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    async start(dataDir: string, port: number, env: Record<string, string>): Promise<OriginProcess> {
      const o = await startOriginProcess({ dataDir, port, env });
      origins.push(o);
      return o;
    },
  };
}
