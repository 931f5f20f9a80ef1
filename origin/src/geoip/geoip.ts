import type { AsnResponse, CountryResponse } from "maxmind";
import { LiveReader } from "./live-reader";
import type { GeoLog } from "./live-reader";
import { normalizeIp } from "./normalize-ip";
import { UNKNOWN_ASN, UNKNOWN_CC, asNameOf, asnOf, countryCodeOf, formatAsn } from "./records";

export { normalizeIp } from "./normalize-ip";
export { formatAsn } from "./records";

/** cc is two uppercase letters; unknown is "ZZ" / 0 / null, as OONI reports it. */
export interface GeoInfo {
  cc: string;
  asn: number;
  as_name: string | null;
}

export interface GeoIPOptions {
  countryDb: string;
  asnDb: string;
  /** Poll both files and hot-swap them when they change. Default true. */
  watch?: boolean;
  log?: (msg: string, extra?: object) => void;
}

export interface GeoDbInfo {
  path: string;
  databaseType: string;
  buildEpoch: Date;
}

const defaultLog: GeoLog = (msg, extra) => console.warn(msg, extra ?? "");

/**
 * Country and ASN lookups over DB-IP lite or MaxMind GeoLite2 files. The two files are separate
 * products updated independently, so each is reloaded (and may fail to reload) on its own.
 */
export class GeoIP {
  private constructor(
    private readonly country: LiveReader<CountryResponse>,
    private readonly asnDb: LiveReader<AsnResponse>,
  ) {}

  /** Throws an Error naming the file when either database is missing or not a valid .mmdb. */
  static async open(opts: GeoIPOptions): Promise<GeoIP> {
    const log = opts.log ?? defaultLog;
    const [country, asn] = await Promise.all([
      LiveReader.open<CountryResponse>(opts.countryDb, "country", log),
      LiveReader.open<AsnResponse>(opts.asnDb, "asn", log),
    ]);
    const geo = new GeoIP(country, asn);
    if (opts.watch ?? true) {
      country.watch();
      asn.watch();
    }
    return geo;
  }

  /** Hot path (every check-in): no I/O, never throws, allocates only the result. */
  lookup(ip: string): GeoInfo {
    const addr = normalizeIp(ip);
    if (addr === null) return { cc: UNKNOWN_CC, asn: UNKNOWN_ASN, as_name: null };
    let cc = UNKNOWN_CC;
    let asn = UNKNOWN_ASN;
    let asName: string | null = null;
    try {
      cc = countryCodeOf(this.country.current.get(addr));
    } catch {
      // A lookup can only fail on a malformed database; unknown is the honest answer.
    }
    try {
      const rec = this.asnDb.current.get(addr);
      asn = asnOf(rec);
      asName = asn === UNKNOWN_ASN ? null : asNameOf(rec);
    } catch {
      // As above.
    }
    return { cc, asn, as_name: asName };
  }

  formatAsn(asn: number): string {
    return formatAsn(asn);
  }

  /** Re-reads both files now; a file that fails to load keeps its previous reader (and is logged). */
  async reload(): Promise<void> {
    await Promise.all([this.country.reload(), this.asnDb.reload()]);
  }

  /** Which databases are live, e.g. for a health endpoint. */
  info(): { country: GeoDbInfo; asn: GeoDbInfo } {
    const describe = (live: LiveReader<CountryResponse> | LiveReader<AsnResponse>): GeoDbInfo => ({
      path: live.path,
      databaseType: live.current.metadata.databaseType,
      buildEpoch: live.current.metadata.buildEpoch,
    });
    return { country: describe(this.country), asn: describe(this.asnDb) };
  }

  /** Stops watching the files; lookups keep working on the loaded data. */
  close(): void {
    this.country.close();
    this.asnDb.close();
  }
}
