import { metrics } from "../metrics/registry";
import type { Services } from "../services";
import { updateAsnMeta } from "./asnmeta";
import { updateCitizenlab } from "./citizenlab";
import { updateFingerprints } from "./fingerprints";
import { updateGeoip } from "./geoip";
import type { UpdateOptions, UpdateResult } from "./types";

export type { UpdateOptions, UpdateResult } from "./types";
export { UpdateError } from "./swap";

export const UPDATERS = {
  citizenlab: { run: updateCitizenlab, setting: "CITIZENLAB_SOURCE", summary: "CitizenLab URL test lists → citizenlab" },
  fingerprints: { run: updateFingerprints, setting: "FINGERPRINTS_SOURCE", summary: "blocking fingerprints → fingerprints_dns, fingerprints_http" },
  asnmeta: { run: updateAsnMeta, setting: "ASNMETA_SOURCE", summary: "ASN organisation names → asnmeta" },
  geoip: { run: updateGeoip, setting: "GEOIP_COUNTRY_URL / GEOIP_ASN_URL", summary: "country and ASN .mmdb files" },
} as const;

export type UpdaterName = keyof typeof UPDATERS;

export function isUpdaterName(name: string): name is UpdaterName {
  return Object.hasOwn(UPDATERS, name);
}

/** Why an updater cannot run without a --source, or null when it is configured. */
export function notConfigured(services: Pick<Services, "config">, name: UpdaterName): string | null {
  const c = services.config.updaters;
  const set =
    name === "citizenlab" ? c.citizenlabSource : name === "fingerprints" ? c.fingerprintsSource : name === "asnmeta" ? c.asnmetaSource : c.geoip.countryUrl ?? c.geoip.asnUrl;
  return set ? null : `not configured: set ${UPDATERS[name].setting}`;
}

/** Runs one updater and reports its outcome to the metrics (dry runs are not reported). */
export async function runUpdater(services: Services, name: UpdaterName, opts: UpdateOptions = {}): Promise<UpdateResult> {
  try {
    const result = await UPDATERS[name].run(services, opts);
    if (!opts.dryRun) {
      metrics.observeUpdaterSuccess(name, result.rows);
      for (const [table, rows] of Object.entries(result.tables)) metrics.tableRows.set({ table }, rows);
    }
    // Warnings are chronic properties of the data (a legend that lags the lists), not incidents.
    for (const w of result.warnings) services.log.info({ updater: name }, w);
    services.log.info({ updater: name, rows: result.rows, previous_rows: result.previousRows, dry_run: Boolean(opts.dryRun) }, result.summary);
    return result;
  } catch (err) {
    if (!opts.dryRun) metrics.observeUpdaterFailure(name);
    services.log.error({ updater: name, err: (err as Error).message }, "update failed; the live data is unchanged");
    throw err;
  }
}
