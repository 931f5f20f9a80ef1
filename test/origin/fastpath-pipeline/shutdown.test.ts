import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startFastpath } from "../../../origin/src/fastpath/pipeline";
import { Spool } from "../../../origin/src/intake/spool";
import { openTempDb, pipelineConfig, silent, spoolMeasurement, tempDir, webConnectivity } from "./helpers";

// Closing the database right after stopping the pipeline (what closeServices does, e.g. in a CLI
// process that started it a moment before) must never close embedded chDB under a query of the
// pipeline's: chDB crashes the process when that happens.

const tmp = tempDir("shutdown");
afterAll(() => tmp.cleanup());

describe("fastpath shutdown", () => {
  it("start → stop → close the database at once, many times, with and without work", async () => {
    for (let i = 0; i < 12; i++) {
      const db = await openTempDb(path.join(tmp.dir, `db${i % 3}`));
      const spool = await Spool.open(path.join(tmp.dir, `spool${i % 3}`));
      if (i % 2) await spoolMeasurement(spool, webConnectivity("ok", i));
      const fp = startFastpath({ config: pipelineConfig({ fingerprintsPollMs: 1 }), db, spool, log: silent });
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 5 * i));
      await fp.stop();
      await db.close();
    }
    expect(true).toBe(true); // reaching here without the process crashing is the assertion
  });
});
