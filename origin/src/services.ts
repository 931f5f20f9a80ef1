import type { Config } from "./config";
import { securePrivateDirs } from "./data-dir";
import { createBlobStore, type BlobStore } from "./blobstore";
import { openDatabase, type Database } from "./db/clickhouse";
import { migrate } from "./db/migrations";
import { GeoIP } from "./geoip/geoip";
import type { Logger } from "./logger";
import { AuthService } from "./auth/service";
import { createMailer, type Mailer } from "./mail";
import { openQuotas, type QuotaStore } from "./quotas";
import { Spool } from "./intake/spool";
import { SpoolSpace } from "./intake/spool-space";
import { openProbeServices, type ProbeServices } from "./probe/service";
import { startFastpath, type FastpathPipeline } from "./fastpath/pipeline";

// Everything with state that the routes share, opened once per process and closed in reverse order.
export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  blobs: BlobStore;
  geoip: GeoIP;
  /** Accounts for people: tokens, account ids, roles and expunge. */
  auth: AuthService;
  mailer: Mailer;
  /** Fair-use quota counters (LMDB); null when QUOTAS_ENABLED=false. */
  quotas: QuotaStore | null;
  /** Durable measurement spool (docs/spool.md): the fastpath subscribes with spool.onWrite. */
  spool: Spool;
  /** Free space of the spool's filesystem against SPOOL_MIN_FREE_BYTES (intake refuses below it). */
  spoolSpace: SpoolSpace;
  /** Probe services: tokens, configured files, test lists, intake. */
  probe: ProbeServices;
  /** The fastpath consuming the spool (docs/fastpath.md); null when disabled or not a server. */
  fastpath: FastpathPipeline | null;
}

export interface OpenOptions {
  /**
   * Start background consumers (the fastpath) — what a serving origin wants. A CLI process that
   * only runs one command may pass false. Default true.
   */
  background?: boolean;
}

export async function openServices(config: Config, log: Logger, opts: OpenOptions = {}): Promise<Services> {
  await securePrivateDirs(config);
  const db = openDatabase(config.clickhouse);
  try {
    const applied = await migrate(db);
    if (applied.length) log.info({ applied, database: db.description }, "schema migrations applied");
    const blobs = createBlobStore(config.blobStore);
    const geoip = await GeoIP.open({
      countryDb: config.geoip.countryDb,
      asnDb: config.geoip.asnDb,
      log: (msg, extra) => log.info(extra ?? {}, msg),
    });
    const auth = await AuthService.open(config, db);
    const mailer = createMailer(config);
    const quotas = openQuotas(config.quotas, log);
    const spool = await Spool.open(config.spoolDir, {
      onListenerError: (err, entry) => log.error({ err, measurement_uid: entry.uid }, "spool listener failed"),
    });
    const spoolSpace = new SpoolSpace(spool.root, config.spoolMinFreeBytes);
    const probe = await openProbeServices(config, db, spool, spoolSpace, log);
    // Subscribes to the spool at once (no write missed) and scans it in the background.
    const fastpath =
      (opts.background ?? true) && config.fastpath.enabled ? startFastpath({ config: config.fastpath, db, spool, log, geoip }) : null;
    return { config, log, db, blobs, geoip, auth, mailer, quotas, spool, spoolSpace, probe, fastpath };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

export async function closeServices(s: Services): Promise<void> {
  // Before the database: its last INSERT needs it (what it cannot insert stays in the spool).
  await s.fastpath?.stop();
  await s.probe.testLists.stop();
  await s.probe.anoncred?.close();
  await s.probe.intake.close();
  s.geoip.close();
  s.mailer.close();
  await s.quotas?.close();
  await s.db.close();
}
