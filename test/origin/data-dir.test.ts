import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";

// DATA_DIR and the origin's folders in it are private to the service account (origin/src/data-dir.ts):
// also those an older install left at 0755.

const root = mkdtempSync(path.join(tmpdir(), "data-dir-test-"));
let origin: OriginProcess | null = null;
afterAll(async () => {
  await origin?.stop();
  rmSync(root, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o777;

describe("DATA_DIR permissions", () => {
  it("a fresh DATA_DIR and an old one left 0755: DATA_DIR, spool, quotas, blobs and clickhouse end up 0700", async () => {
    const fresh = path.join(root, "fresh", "data");
    const old = path.join(root, "old");
    for (const d of ["", "spool", "quotas", "blobs"]) mkdirSync(path.join(old, d), { recursive: true, mode: 0o755 });
    expect(mode(path.join(old, "spool"))).toBe(0o755);
    for (const dataDir of [fresh, old]) {
      origin = await startOriginProcess({ dataDir });
      // The origin starts and answers with its folders private.
      expect((await fetch(`${origin.url}/health`)).status).toBe(200);
      await origin.stop();
      origin = null;
      for (const d of ["", "spool", "quotas", "blobs", "clickhouse"]) {
        expect(mode(path.join(dataDir, d)), `${dataDir}/${d}`).toBe(0o700);
      }
    }
  });
});
