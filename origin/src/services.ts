import type { Config } from "./config";
import { createBlobStore, type BlobStore } from "./blobstore";
import { openDatabase, type Database } from "./db/clickhouse";
import { migrate } from "./db/migrations";
import { GeoIP } from "./geoip/geoip";
import type { Logger } from "./logger";

// Everything with state that the routes share, opened once per process and closed in reverse order.
export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  blobs: BlobStore;
  geoip: GeoIP;
}

export async function openServices(config: Config, log: Logger): Promise<Services> {
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
    return { config, log, db, blobs, geoip };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

export async function closeServices(s: Services): Promise<void> {
  s.geoip.close();
  await s.db.close();
}
