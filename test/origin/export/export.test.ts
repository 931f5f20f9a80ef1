import { createHash } from "node:crypto";
import { decompress } from "@mongodb-js/zstd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { exportTable, exportTables, type ExportProgress } from "../../../origin/src/export/export";
import { parseCsv } from "../../../origin/src/testlists/csv";
import { updateCitizenlab } from "../../../origin/src/updaters/citizenlab";
import { updateFingerprints } from "../../../origin/src/updaters/fingerprints";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { openTestServices, type TestServices } from "../updaters/support";

// Export of real tables (the CitizenLab lists and the HTTP fingerprints, whose fields contain
// commas, quotes and newlines) to the local blob store; read back, every row must be there once.

const suite = corpusAvailable ? describe : describe.skip;
if (!corpusAvailable) console.warn("skipping export tests: the corpus is absent (set OONI_CORPUS_DIR)");

let t: TestServices;

interface Manifest {
  table: string;
  rows: number;
  columns: { name: string; type: string }[];
  parts: { key: string; rows: number; bytes: number; compressed_bytes: number; sha256: string }[];
}

/** Reads an export back: checks each part against the manifest, returns header and rows. */
async function readBack(manifestKey: string): Promise<{ manifest: Manifest; header: string[]; rows: string[][] }> {
  const manifest = JSON.parse(Buffer.from((await t.services.blobs.get(manifestKey))!).toString("utf8")) as Manifest;
  const rows: string[][] = [];
  let header: string[] = [];
  for (const part of manifest.parts) {
    const stored = Buffer.from((await t.services.blobs.get(part.key))!);
    expect(createHash("sha256").update(stored).digest("hex")).toBe(part.sha256);
    expect(stored.length).toBe(part.compressed_bytes);
    const csv = await decompress(stored);
    expect(csv.length).toBe(part.bytes);
    const records = parseCsv(csv.toString("utf8"));
    header = records[0]!.fields;
    expect(records.length - 1).toBe(part.rows);
    rows.push(...records.slice(1).map((r) => r.fields));
  }
  return { manifest, header, rows };
}

suite("export", () => {
  beforeAll(async () => {
    t = await openTestServices();
    await updateCitizenlab(t.services, { source: corpusPath("citizenlab-test-lists") });
    await updateFingerprints(t.services, { source: corpusPath("fingerprints") });
  });
  afterAll(async () => t?.close());

  it("writes a table in zstd CSV parts of about the chunk size, every row exactly once", async () => {
    const progress: ExportProgress[] = [];
    const r = await exportTable(t.services, "citizenlab", { chunkBytes: 256 * 1024, onProgress: (p) => progress.push(p) });
    const db = await queryRows<{ domain: string; url: string; cc: string; category_code: string }>(
      t.services.db,
      "SELECT domain, url, toString(cc) AS cc, category_code FROM citizenlab",
    );
    const { manifest, header, rows } = await readBack(r.manifestKey);
    expect(header).toEqual(["domain", "url", "cc", "category_code"]);
    expect(manifest.columns.map((c) => c.name)).toEqual(header);
    expect(rows.length).toBe(db.length);
    expect(manifest.rows).toBe(db.length);
    const key = (x: string[]) => x.join("\t");
    expect(rows.map(key).sort()).toEqual(db.map((d) => key([d.domain, d.url, d.cc, d.category_code])).sort());
    // Parts are bounded by the chunk size (plus at most one row and the header).
    expect(r.parts.length).toBeGreaterThan(3);
    for (const p of r.parts.slice(0, -1)) expect(p.bytes).toBeLessThan(256 * 1024 + 4096);
    expect(r.manifestKey).toMatch(/^exports\/citizenlab\/\d{8}T\d{6}Z\/manifest\.json$/);
    // Progress went up to the whole table.
    expect(progress.at(-1)).toMatchObject({ done: true, rows: db.length, parts: r.parts.length });
    expect(progress.map((p) => p.rows)).toEqual([...progress.map((p) => p.rows)].sort((a, b) => a - b));
  });

  it("reads in slices or in one query with the same result; multi-line quoted fields survive", async () => {
    const db = await queryRows<{ name: string; pattern: string; notes: string }>(t.services.db, "SELECT name, pattern, notes FROM fingerprints_http");
    expect(db.some((r) => /[\n",]/.test(r.notes))).toBe(true);
    const expected = db.map((d) => [d.name, d.pattern, d.notes].join("\u0000")).sort();
    for (const buckets of [1, 7]) {
      const r = await exportTable(t.services, "fingerprints_http", { buckets, chunkBytes: 64 * 1024 });
      const { header, rows } = await readBack(r.manifestKey);
      const at = (c: string) => header.indexOf(c);
      expect(rows.map((x) => [x[at("name")], x[at("pattern")], x[at("notes")]].join("\u0000")).sort()).toEqual(expected);
    }
  });

  it("names what it cannot export; the backup list may name tables that do not exist", async () => {
    await expect(exportTable(t.services, "no_such_table")).rejects.toThrow(/no table no_such_table/);
    await expect(exportTable(t.services, "x; DROP TABLE citizenlab")).rejects.toThrow(/not a table name/);
    const results = await exportTables(t.services, ["no_such_table", "fingerprints_dns"], { skipMissing: true });
    expect(results.map((r) => r.table)).toEqual(["fingerprints_dns"]);
    const [row] = await queryRows<{ n: number }>(t.services.db, "SELECT count() AS n FROM fingerprints_dns");
    expect(results[0]!.rows).toBe(Number(row!.n));
  });

  it("an empty table gives a manifest with no parts", async () => {
    const r = await exportTable(t.services, "incidents");
    const { manifest } = await readBack(r.manifestKey);
    expect(manifest).toMatchObject({ table: "incidents", rows: 0, parts: [] });
  });
});
