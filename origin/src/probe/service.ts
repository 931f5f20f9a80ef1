import type { Config } from "../config";
import type { Database } from "../db/clickhouse";
import { Intake } from "../intake/intake";
import type { Spool } from "../intake/spool";
import type { SpoolSpace } from "../intake/spool-space";
import type { Logger } from "../logger";
import { jwtSecret } from "../secrets";
import { bootstrapCitizenlab } from "../testlists/load";
import { TestListCache } from "../testlists/snapshot/cache";
import { TestLists } from "../testlists/test-list";
import { openProbeConfigFiles, type ProbeConfigFiles } from "./config-files";
import { ProbeTokens } from "./tokens";

// What the probe-services routes share: credentials, the configured files, test lists and intake.

export interface ProbeServices {
  tokens: ProbeTokens;
  files: ProbeConfigFiles;
  /** What probes get (check-in, test-list/urls, OONI Run dynamic lists): from memory. */
  testLists: TestListCache;
  /** The same prioritization read from the database per call: for the debugging endpoints. */
  testListQueries: TestLists;
  intake: Intake;
}

export async function openProbeServices(config: Config, db: Database, spool: Spool, space: SpoolSpace, log: Logger): Promise<ProbeServices> {
  const files = openProbeConfigFiles(config.probe.configDir, (file, err) =>
    log.error({ file, err: err.message }, "probe config file changed but is invalid: still serving the previous version"),
  );
  const tokens = new ProbeTokens(await jwtSecret(config));
  if (config.probe.testlistsBootstrapDir) await bootstrapCitizenlab(db, config.probe.testlistsBootstrapDir, log);
  const testListQueries = new TestLists(db, log);
  const testLists = new TestListCache(db, {
    pollMs: config.probe.testlistsPollMs,
    countsRefreshMs: config.probe.testlistsCountsRefreshMs,
    log,
  });
  await testLists.start();
  if (config.probe.intakeDiscard) {
    log.warn("INTAKE_DISCARD is on: submissions are answered but NOT stored (benchmark-only setting)");
  }
  const intake = new Intake({
    spool,
    collectorId: config.collectorId,
    maxBytes: config.maxSubmissionBytes,
    discard: config.probe.intakeDiscard,
    space,
  });
  return { tokens, files, testLists, testListQueries, intake };
}
