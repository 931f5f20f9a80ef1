import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
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
