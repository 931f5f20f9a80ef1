import type { Config } from "../config";
import type { Database } from "../db/clickhouse";
import { Intake } from "../intake/intake";
import { DEFAULT_PARSE_POOL, ParsePool } from "../intake/parse/pool";
import type { Spool } from "../intake/spool";
import type { SpoolSpace } from "../intake/spool-space";
import type { Logger } from "../logger";
import { jwtSecret } from "../secrets";
import { bootstrapCitizenlab } from "../testlists/load";
import { TestLists } from "../testlists/test-list";
import { openProbeConfigFiles, type ProbeConfigFiles } from "./config-files";
import { ProbeTokens } from "./tokens";

// What the probe-services routes share: credentials, the configured files, test lists and intake.

export interface ProbeServices {
  tokens: ProbeTokens;
  files: ProbeConfigFiles;
  testLists: TestLists;
  intake: Intake;
}

export async function openProbeServices(config: Config, db: Database, spool: Spool, space: SpoolSpace, log: Logger): Promise<ProbeServices> {
  const files = openProbeConfigFiles(config.probe.configDir, (file, err) =>
    log.error({ file, err: err.message }, "probe config file changed but is invalid: still serving the previous version"),
  );
  const tokens = new ProbeTokens(await jwtSecret(config));
  if (config.probe.testlistsBootstrapDir) await bootstrapCitizenlab(db, config.probe.testlistsBootstrapDir, log);
  const testLists = new TestLists(db, log);
  await testLists.refreshFailoverSoon(true);
  if (config.probe.intakeDiscard) {
    log.warn("INTAKE_DISCARD is on: submissions are answered but NOT stored (benchmark-only setting)");
  }
  const intake = new Intake({
    spool,
    collectorId: config.collectorId,
    maxBytes: config.maxSubmissionBytes,
    discard: config.probe.intakeDiscard,
    space,
    shedRssBytes: config.probe.shedRssBytes,
    parser: new ParsePool({ ...DEFAULT_PARSE_POOL, heapMb: config.probe.parseHeapMb, maxQueuedBytes: config.probe.parseQueueBytes }),
  });
  return { tokens, files, testLists, intake };
}
