import type { Config } from "../config";
import type { Database } from "../db/clickhouse";
import { AnonCredService, INSTALL_HINT, type Verification } from "../anoncred/service";
import { Intake, type VerifySubmission } from "../intake/intake";
import { DEFAULT_PARSE_POOL, ParsePool } from "../intake/parse/pool";
import { metrics } from "../metrics/registry";
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
  /** Anonymous credentials; null when off (anoncredOff says why). */
  anoncred: AnonCredService | null;
  anoncredOff: string | null;
}

const none = (error: string | null): Verification => ({ status: "unverified", code: "u", error, submitResponse: null });

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
  const opened = await AnonCredService.open(config.anoncred, log);
  const anoncred = opened instanceof AnonCredService ? opened : null;
  const anoncredOff = opened instanceof AnonCredService ? null : opened.off;
  if (anoncred) {
    log.info({ workers: anoncred.workers, library_version: anoncred.libraryVersion, protocol_version: anoncred.protocolVersion }, "anonymous credentials on");
  } else {
    log.warn({ reason: anoncredOff }, `anonymous credentials are OFF: GET /api/v1/manifest answers 404, so probes submit without a credential and every measurement is stored unverified. To turn them on, ${INSTALL_HINT}`);
  }
  const verify: VerifySubmission = anoncred
    ? (fields, text, cc, asn) => anoncred.verify(fields, text, cc, asn, files.manifest.get().manifest.submission_policy)
    : async (fields) => {
        if ([fields.nym, fields.zkp_request, fields.manifest_version, fields.protocol_version].every((v) => v === undefined || v === null)) return none(null);
        metrics.observeVerification("unverified", "anonymous_credentials_off");
        return none("anonymous_credentials_off");
      };
  const intake = new Intake({
    verify,
    spool,
    collectorId: config.collectorId,
    maxBytes: config.maxSubmissionBytes,
    discard: config.probe.intakeDiscard,
    space,
    shedRssBytes: config.probe.shedRssBytes,
    parser: new ParsePool({ ...DEFAULT_PARSE_POOL, heapMb: config.probe.parseHeapMb, maxQueuedBytes: config.probe.parseQueueBytes }),
  });
  return { tokens, files, testLists, testListQueries, intake, anoncred, anoncredOff };
}
