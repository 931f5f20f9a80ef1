import { runThroughSocket } from "../../../origin/src/admin/client";
import { adminSocketPath } from "../../../origin/src/admin/protocol";
import type { Ack } from "./probes";

// Helpers around a real origin process for the fault suites.

export { freePort } from "../../support/free-port";

/** Settings every fault-suite origin shares: no quotas (the storm comes from one address), quick flushes. */
export const FAULT_ENV: Record<string, string> = {
  QUOTAS_ENABLED: "false",
  FASTPATH_WORKERS: "1",
  FASTPATH_FLUSH_MS: "200",
  TIMERS_IN_ORIGIN: "false",
  TESTLISTS_BOOTSTRAP_DIR: "none",
};

/**
 * Waits until the fastpath has a row for every acknowledged uid, asking the running origin the way
 * Explorer would (`/api/v1/measurements?report_id=…`, which reads `fastpath FINAL`).
 */
export async function waitScored(base: string, acks: Iterable<Ack>, timeoutMs = 120_000): Promise<void> {
  const byReport = new Map<string, Set<string>>();
  for (const a of acks) {
    const set = byReport.get(a.reportId) ?? new Set<string>();
    set.add(a.uid);
    byReport.set(a.reportId, set);
  }
  const deadline = Date.now() + timeoutMs;
  let left = 0;
  for (;;) {
    left = 0;
    for (const [rid, uids] of byReport) {
      for (let offset = 0; uids.size > 0; offset += 1000) {
        const r = await fetch(`${base}/api/v1/measurements?report_id=${rid}&limit=1000&offset=${offset}`).catch(() => null);
        if (!r || r.status !== 200) break;
        const body = (await r.json()) as { results: { measurement_uid: string }[] };
        for (const x of body.results) uids.delete(x.measurement_uid);
        if (body.results.length < 1000) break;
      }
      left += uids.size;
    }
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`fastpath did not catch up within ${timeoutMs} ms: ${left} measurements without a row`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Runs a CLI command inside the running origin (its admin socket), as `npm run cli -- …` does. */
export async function adminRun(dataDir: string, command: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runThroughSocket(adminSocketPath(dataDir), command, args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    interactive: false,
  }, new AbortController().signal);
  return { code, out, err };
}
