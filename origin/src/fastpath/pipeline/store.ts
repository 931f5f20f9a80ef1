import { existsSync } from "node:fs";
import { z } from "zod";
import type { Database } from "../../db/clickhouse";
import {
  FINGERPRINT_SCOPES,
  PATTERN_TYPES,
  parseExpectedCountries,
  type Fingerprint,
  type FingerprintKind,
} from "../fingerprints";
import type { MeasurementObservations } from "../../observations";
import type { ObservationWriter } from "../../observations/writer";
import type { FastpathRow } from "../row";

// Every ClickHouse statement the fastpath makes, in one place, so the test fault injector
// (FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE) covers all of them. All parameterized.

export class InjectedOutage extends Error {
  override readonly name = "InjectedOutage";
}

/**
 * Uids per `IN` query. Over HTTP the client sends query parameters in the URL (~50 bytes a uid),
 * and servers cap its length (http_max_uri_size): 2,000 uids stay near 100 KB.
 */
export const LOOKUP_CHUNK = 2_000;

const FingerprintRow = z.object({
  name: z.string(),
  scope: z.enum(FINGERPRINT_SCOPES),
  other_names: z.string(),
  location_found: z.string(),
  pattern_type: z.enum(PATTERN_TYPES),
  pattern: z.string(),
  confidence_no_fp: z.coerce.number().int().min(0).max(255),
  expected_countries: z.string(),
  source: z.string(),
  exp_url: z.string(),
  notes: z.string(),
});

const TABLE: Record<FingerprintKind, string> = { dns: "fingerprints_dns", http: "fingerprints_http" };

export class FastpathStore {
  constructor(
    readonly db: Database,
    /** TEST FAULT INJECTOR: while this file exists every call fails as if ClickHouse were down. */
    private readonly faultFile: string | null = null,
    /** Writes observation and analysis rows ahead of the fastpath rows of the same batch. */
    private readonly observationWriter: ObservationWriter | null = null,
  ) {}

  private check(): void {
    if (this.faultFile !== null && existsSync(this.faultFile)) {
      throw new InjectedOutage(`ClickHouse unavailable (test fault injector: ${this.faultFile} exists)`);
    }
  }

  /** Which of these uids already have a fastpath row. */
  async existingUids(uids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < uids.length; i += LOOKUP_CHUNK) {
      this.check();
      const chunk = uids.slice(i, i + LOOKUP_CHUNK);
      const r = await this.db.client.query({
        query: "SELECT DISTINCT measurement_uid FROM fastpath WHERE measurement_uid IN {uids:Array(String)}",
        query_params: { uids: chunk },
        format: "JSONEachRow",
      });
      for (const row of await r.json<{ measurement_uid: string }>()) found.add(row.measurement_uid);
    }
    return found;
  }

  /**
   * The anonymous-credential verdicts (t/f) already recorded for these uids. Reprocessing reads
   * archived JSONL, which holds the measurement without its envelope and so without the verdict:
   * it keeps the one the live row has.
   */
  async verdictsOf(uids: readonly string[]): Promise<Map<string, "t" | "f">> {
    const found = new Map<string, "t" | "f">();
    for (let i = 0; i < uids.length; i += LOOKUP_CHUNK) {
      this.check();
      const r = await this.db.client.query({
        query: `SELECT measurement_uid, argMax(is_verified, update_time) AS v FROM fastpath
          WHERE measurement_uid IN {uids:Array(String)} GROUP BY measurement_uid HAVING v IN ('t', 'f')`,
        query_params: { uids: uids.slice(i, i + LOOKUP_CHUNK) },
        format: "JSONEachRow",
      });
      for (const row of await r.json<{ measurement_uid: string; v: "t" | "f" }>()) found.set(row.measurement_uid, row.v);
    }
    return found;
  }

  /**
   * Observations first: a measurement has its fastpath row only once its observations and
   * analysis are stored, so the consumer's "scored" covers all three (and retries all three).
   */
  async insertRows(rows: readonly FastpathRow[], observations: readonly MeasurementObservations[] = []): Promise<void> {
    this.check();
    if (this.observationWriter && observations.length > 0) await this.observationWriter.write(observations);
    if (rows.length === 0) return;
    await this.db.client.insert({ table: "fastpath", values: rows as FastpathRow[], format: "JSONEachRow" });
  }

  /** What the jsonl table records about the lines of one archived file: linenum → uid, report id. */
  async archiveIndex(s3path: string): Promise<Map<number, { uid: string; reportId: string }>> {
    this.check();
    const r = await this.db.client.query({
      query: "SELECT DISTINCT linenum, measurement_uid, report_id FROM jsonl WHERE s3path = {s3path:String}",
      query_params: { s3path },
      format: "JSONEachRow",
    });
    const out = new Map<number, { uid: string; reportId: string }>();
    for (const row of await r.json<{ linenum: number; measurement_uid: string; report_id: string }>()) {
      out.set(Number(row.linenum), { uid: row.measurement_uid, reportId: row.report_id });
    }
    return out;
  }

  /** A cheap fingerprint of both tables' contents: changes whenever any row does. */
  async fingerprintsChecksum(): Promise<string> {
    this.check();
    const cols = "name, toString(scope), other_names, location_found, toString(pattern_type), pattern, confidence_no_fp, expected_countries, source, exp_url, notes";
    const r = await this.db.client.query({
      query: `SELECT
        (SELECT concat(toString(count()), ':', toString(sum(cityHash64(${cols})))) FROM fingerprints_dns FINAL) AS dns,
        (SELECT concat(toString(count()), ':', toString(sum(cityHash64(${cols})))) FROM fingerprints_http FINAL) AS http`,
      format: "JSONEachRow",
    });
    const [row] = await r.json<{ dns: string; http: string }>();
    return `dns=${row?.dns ?? "?"};http=${row?.http ?? "?"}`;
  }

  async loadFingerprints(kind: FingerprintKind): Promise<Fingerprint[]> {
    this.check();
    const r = await this.db.client.query({
      query: `SELECT name, toString(scope) AS scope, other_names, location_found, toString(pattern_type) AS pattern_type,
        pattern, confidence_no_fp, expected_countries, source, exp_url, notes
        FROM ${TABLE[kind]} FINAL ORDER BY name`,
      format: "JSONEachRow",
    });
    const rows = await r.json<unknown>();
    return rows.map((raw, i) => {
      const parsed = FingerprintRow.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${TABLE[kind]} row ${i + 1}: ${issue?.path.join(".")}: ${issue?.message}`);
      }
      return { ...parsed.data, expected_countries: parseExpectedCountries(parsed.data.expected_countries) };
    });
  }

  /**
   * Replaces both fingerprint tables: fill the _tmp twins, check they hold exactly what was given,
   * then one EXCHANGE TABLES statement swaps both pairs. Readers see the old set or the new one.
   * The previous set is left in the _tmp tables until the next load.
   */
  async replaceFingerprints(lists: Record<FingerprintKind, readonly Fingerprint[]>): Promise<void> {
    for (const kind of ["dns", "http"] as const) {
      this.check();
      const tmp = `${TABLE[kind]}_tmp`;
      await this.db.client.command({ query: `TRUNCATE TABLE ${tmp}` });
      const values = lists[kind].map((fp) => ({
        name: fp.name,
        scope: fp.scope,
        other_names: fp.other_names,
        location_found: fp.location_found,
        pattern_type: fp.pattern_type,
        pattern: fp.pattern,
        confidence_no_fp: fp.confidence_no_fp,
        expected_countries: fp.expected_countries.join(","),
        source: fp.source,
        exp_url: fp.exp_url,
        notes: fp.notes,
      }));
      if (values.length > 0) await this.db.client.insert({ table: tmp, values, format: "JSONEachRow" });
      const r = await this.db.client.query({ query: `SELECT count() AS n FROM ${tmp} FINAL`, format: "JSONEachRow" });
      const n = Number((await r.json<{ n: number }>())[0]?.n ?? -1);
      const distinct = new Set(lists[kind].map((fp) => fp.name)).size;
      if (n !== distinct) throw new Error(`${tmp} holds ${n} rows after loading ${distinct} fingerprints; not swapped`);
    }
    this.check();
    await this.db.client.command({
      query: "EXCHANGE TABLES fingerprints_dns_tmp AND fingerprints_dns, fingerprints_http_tmp AND fingerprints_http",
    });
  }
}
