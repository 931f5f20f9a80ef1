import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { FastpathStore } from "../../../origin/src/fastpath/pipeline/store";
import { parseCsv as independentCsv } from "../../../origin/src/testlists/csv";
import { updateFingerprints } from "../../../origin/src/updaters/fingerprints";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { openTestServices, serveFiles, tableFingerprint, type TestServices } from "./support";

// The fingerprints updater with the real ooni/blocking-fingerprints CSVs: from the directory and
// from a loopback URL, into a running fastpath that must pick them up without a restart.

const suite = corpusAvailable ? describe : describe.skip;
if (!corpusAvailable) console.warn("skipping fingerprints updater tests: the corpus is absent (set OONI_CORPUS_DIR)");

const REAL = corpusAvailable ? corpusPath("fingerprints") : "";
let t: TestServices;
let scratch: string;

/** Data rows of a CSV file, by another CSV parser than the updater's (some fields span lines). */
function csvRows(file: string): number {
  return independentCsv(readFileSync(file, "utf8")).length - 1;
}

async function counts(): Promise<{ dns: number; http: number }> {
  const [row] = await queryRows<{ dns: number; http: number }>(
    t.services.db,
    "SELECT (SELECT count() FROM fingerprints_dns FINAL) AS dns, (SELECT count() FROM fingerprints_http FINAL) AS http",
  );
  return { dns: Number(row!.dns), http: Number(row!.http) };
}

function copyOfReal(): string {
  const dir = mkdtempSync(path.join(scratch, "fp-"));
  for (const kind of ["dns", "http"]) cpSync(path.join(REAL, `fingerprints_${kind}.csv`), path.join(dir, `fingerprints_${kind}.csv`));
  return dir;
}

suite("fingerprints updater", () => {
  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), "fp-updater-"));
    // background: the fastpath pipeline runs (one scoring thread), as in the origin.
    t = await openTestServices({ FASTPATH_FINGERPRINTS_POLL_S: "0" }, { background: true });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("loads the real CSVs: table rows equal CSV rows, and the running fastpath uses them at once", async () => {
    const expected = { dns: csvRows(path.join(REAL, "fingerprints_dns.csv")), http: csvRows(path.join(REAL, "fingerprints_http.csv")) };
    expect(expected.dns).toBeGreaterThan(100);
    const r = await updateFingerprints(t.services, { source: REAL });
    expect(r.rows).toBe(expected.dns + expected.http);
    expect(await counts()).toEqual(expected);
    // Polling is off (FASTPATH_FINGERPRINTS_POLL_S=0): only the updater's reload can explain this.
    const checksum = await new FastpathStore(t.services.db).fingerprintsChecksum();
    expect(t.services.fastpath?.stats().fingerprints).toBe(checksum);
  });

  it("loads the same from a base URL (gzip-encoded files are fine)", async () => {
    const before = await tableFingerprint(t.services, "fingerprints_http");
    const server = await serveFiles(
      new Map([
        ["/fp/main/fingerprints_dns.csv", readFileSync(path.join(REAL, "fingerprints_dns.csv"))],
        ["/fp/main/fingerprints_http.csv", gzipSync(readFileSync(path.join(REAL, "fingerprints_http.csv")))],
      ]),
    );
    try {
      const r = await updateFingerprints(t.services, { source: `${server.url}/fp/main` });
      expect(server.hits).toEqual(["/fp/main/fingerprints_dns.csv", "/fp/main/fingerprints_http.csv"]);
      expect(r.summary).toContain(server.url);
    } finally {
      await server.close();
    }
    // Same data, so the same table content.
    expect(await tableFingerprint(t.services, "fingerprints_http")).toEqual(before);
  });

  it("a bad row in either file: nothing changes in either table", async () => {
    const before = { dns: await tableFingerprint(t.services, "fingerprints_dns"), http: await tableFingerprint(t.services, "fingerprints_http") };
    const bad = copyOfReal();
    const http = path.join(bad, "fingerprints_http.csv");
    writeFileSync(http, readFileSync(http, "utf8").replace(/,body,full,/, ",body,sometimes,"));
    await expect(updateFingerprints(t.services, { source: bad })).rejects.toThrow(/fingerprints_http\.csv line \d+: field "pattern_type"/);

    const truncated = copyOfReal();
    const dns = path.join(truncated, "fingerprints_dns.csv");
    const text = readFileSync(dns, "utf8");
    writeFileSync(dns, text.slice(0, text.trimEnd().lastIndexOf("\n") + 12));
    await expect(updateFingerprints(t.services, { source: truncated })).rejects.toThrow(/fingerprints_dns\.csv line \d+: expected 11 fields/);

    expect({ dns: await tableFingerprint(t.services, "fingerprints_dns"), http: await tableFingerprint(t.services, "fingerprints_http") }).toEqual(before);
  });

  it("a download that fails or is cut short changes nothing", async () => {
    const before = await tableFingerprint(t.services, "fingerprints_dns");
    const dnsBytes = readFileSync(path.join(REAL, "fingerprints_dns.csv"));
    const server = await serveFiles(new Map<string, Buffer | number>([["/fingerprints_dns.csv", dnsBytes], ["/fingerprints_http.csv", 404]]));
    try {
      await expect(updateFingerprints(t.services, { source: server.url })).rejects.toThrow(/answered HTTP 404/);
    } finally {
      await server.close();
    }
    const httpBytes = readFileSync(path.join(REAL, "fingerprints_http.csv"));
    const broken = await serveFiles(
      new Map([["/fingerprints_dns.csv", dnsBytes], ["/fingerprints_http.csv", httpBytes]]),
      new Set(["/fingerprints_http.csv"]),
    );
    try {
      await expect(updateFingerprints(t.services, { source: broken.url })).rejects.toThrow(/fingerprints_http\.csv (broke off|is truncated)/);
    } finally {
      await broken.close();
    }
    expect(await tableFingerprint(t.services, "fingerprints_dns")).toEqual(before);
  });

  it("a repeated name is refused (the tables are keyed by name and would drop one)", async () => {
    const dir = copyOfReal();
    const dns = path.join(dir, "fingerprints_dns.csv");
    const lines = readFileSync(dns, "utf8").trimEnd().split("\n");
    writeFileSync(dns, `${[...lines, lines[1]].join("\n")}\n`);
    await expect(updateFingerprints(t.services, { source: dir })).rejects.toThrow(/appears twice/);
  });
});
