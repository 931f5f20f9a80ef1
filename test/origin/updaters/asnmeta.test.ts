import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../origin/src/app";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { parseAsnMeta, updateAsnMeta } from "../../../origin/src/updaters/asnmeta";
import { openTestServices, serveFiles, tableFingerprint, type TestServices } from "./support";

// ASN metadata in both documented formats, into asnmeta, served by /api/_/asnmeta.

let t: TestServices;
let scratch: string;

// Upstream's all_as_org_map.json shape: {"<asn>": [[org_name, cc, "YYYYMMDD", aut_name, source], …]}
const upstreamJson = {
  "3269": [
    ["Telecom Italia", "IT", "20100101", "ASN-IBSNAZ", "RIPE"],
    ["Telecom Italia S.p.A.", "IT", "20210301", "ASN-IBSNAZ", "RIPE"],
  ],
  "7922": [["Comcast Cable Communications, LLC", "US", "20150607", "COMCAST-7922", "ARIN"]],
  "197207": [["Mobile Communication Company of Iran PLC", "IR", "20120101", "MCCI-AS", "RIPE"]],
  "64512": [["Private use, \"quoted\", with commas", "", "20200202", "", "IANA"]],
};

const csv = [
  "asn,org_name,cc,changed,aut_name,source",
  "AS3215,Orange S.A.,FR,2019-05-01,AS3215,RIPE",
  '3320,"Deutsche Telekom AG",de,20180101,DTAG,RIPE',
  "30722,Vodafone Italia S.p.A.,IT,2020-01-01,VODAFONE-IT-ASN,RIPE",
].join("\n");

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "asnmeta-"));
  t = await openTestServices();
});
afterAll(async () => {
  await t?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function write(name: string, body: string | Buffer): string {
  const file = path.join(scratch, name);
  writeFileSync(file, body);
  return file;
}

async function apiOrgName(asn: string): Promise<unknown> {
  const res = await createApp(t.services).request(`/api/_/asnmeta?asn=${asn}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { org_name: string }).org_name;
}

describe("ASN metadata updater", () => {
  it("loads upstream's JSON: one row per history entry; the API serves the newest name", async () => {
    const r = await updateAsnMeta(t.services, { source: write("map.json", JSON.stringify(upstreamJson)) });
    expect(r.rows).toBe(5);
    const rows = await queryRows<{ asn: number; org_name: string; cc: string; changed: string }>(
      t.services.db,
      "SELECT asn, org_name, cc, toString(changed) AS changed FROM asnmeta ORDER BY asn, changed",
    );
    expect(rows).toEqual([
      { asn: 3269, org_name: "Telecom Italia", cc: "IT", changed: "2010-01-01" },
      { asn: 3269, org_name: "Telecom Italia S.p.A.", cc: "IT", changed: "2021-03-01" },
      { asn: 7922, org_name: "Comcast Cable Communications, LLC", cc: "US", changed: "2015-06-07" },
      { asn: 64512, org_name: 'Private use, "quoted", with commas', cc: "", changed: "2020-02-02" },
      { asn: 197207, org_name: "Mobile Communication Company of Iran PLC", cc: "IR", changed: "2012-01-01" },
    ]);
    expect(await apiOrgName("3269")).toBe("Telecom Italia S.p.A.");
    expect(await apiOrgName("30722")).toBe("Unknown");
  });

  it("loads the CSV format (gzipped, over HTTP) and replaces the table whole", async () => {
    const server = await serveFiles(new Map([["/asn.csv.gz", gzipSync(csv)]]));
    try {
      const r = await updateAsnMeta(t.services, { source: `${server.url}/asn.csv.gz`, force: true });
      expect(r.rows).toBe(3);
    } finally {
      await server.close();
    }
    const rows = await queryRows<{ asn: number; cc: string }>(t.services.db, "SELECT asn, cc FROM asnmeta ORDER BY asn");
    expect(rows).toEqual([
      { asn: 3215, cc: "FR" },
      { asn: 3320, cc: "DE" },
      { asn: 30722, cc: "IT" },
    ]);
    expect(await apiOrgName("30722")).toBe("Vodafone Italia S.p.A.");
    expect(await apiOrgName("3269")).toBe("Unknown");
  });

  it("any invalid entry: nothing loaded, live table unchanged, entries named", async () => {
    const before = await tableFingerprint(t.services, "asnmeta");
    const badJson = { ...upstreamJson, "1234": [["Org", "ITA", "20200101", "X", "RIPE"]], "99": [["Org", "IT", "20201350", "X", "RIPE"]] };
    await expect(updateAsnMeta(t.services, { source: write("bad.json", JSON.stringify(badJson)), force: true })).rejects.toThrow(
      /2 invalid entries[\s\S]*AS(1234|99)\[0\]: (cc must be|changed must be)/,
    );
    await expect(updateAsnMeta(t.services, { source: write("bad.csv", `${csv}\n12345,Cut off,I`), force: true })).rejects.toThrow(
      /line 5: 3 fields where the header has 6/,
    );
    await expect(updateAsnMeta(t.services, { source: write("truncated.json", JSON.stringify(upstreamJson).slice(0, 80)), force: true })).rejects.toThrow(
      /not valid JSON/,
    );
    await expect(updateAsnMeta(t.services, { source: write("zero.csv", `${csv}\n0,Zero,,2020-01-01,,RIPE`), force: true })).rejects.toThrow(
      /asn must be a number/,
    );
    expect(await tableFingerprint(t.services, "asnmeta")).toEqual(before);
  });

  it("refuses to shrink the table below UPDATER_MIN_KEEP_RATIO unless forced", async () => {
    const before = await tableFingerprint(t.services, "asnmeta");
    const one = write("one.csv", "asn,org_name,cc,changed,aut_name,source\n1,One,US,2020-01-01,ONE,ARIN\n");
    await expect(updateAsnMeta(t.services, { source: one })).rejects.toThrow(/refusing to shrink asnmeta from 3 to 1 rows/);
    expect(await tableFingerprint(t.services, "asnmeta")).toEqual(before);
  });

  it("parses the two formats into the same rows", () => {
    const fromJson = parseAsnMeta(JSON.stringify({ "3215": [["Orange S.A.", "FR", "20190501", "AS3215", "RIPE"]] }));
    const fromCsv = parseAsnMeta("asn,org_name,cc,changed,aut_name,source\nAS3215,Orange S.A.,fr,2019-05-01,AS3215,RIPE\n");
    expect(fromCsv).toEqual(fromJson);
    expect(() => parseAsnMeta("{}")).toThrow(/holds no entries/);
  });
});
