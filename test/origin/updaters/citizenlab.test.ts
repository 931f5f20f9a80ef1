import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { parseCsv as independentCsv } from "../../../origin/src/fastpath/fingerprints";
import { readCitizenlabStrict, updateCitizenlab } from "../../../origin/src/updaters/citizenlab";
import { UpdateError } from "../../../origin/src/updaters/swap";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { openTestServices, tableFingerprint, type TestServices } from "./support";

// The CitizenLab updater against the real lists (read in place) and corrupted copies of them in a
// temp directory. Counts are checked against the CSV files parsed by a different CSV parser (the
// fastpath's) than the one the updater uses.

const suite = corpusAvailable ? describe : describe.skip;
if (!corpusAvailable) console.warn("skipping CitizenLab updater tests: the corpus is absent (set OONI_CORPUS_DIR)");

const REAL = corpusAvailable ? corpusPath("citizenlab-test-lists") : "";
let t: TestServices;
let scratch: string;

/** Data rows per list file, as upstream would load them: lists/<2 letters>.csv and global.csv. */
function expectedCounts(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(path.join(dir, "lists"))) {
    if (name !== "global.csv" && !/^[a-z]{2}\.csv$/.test(name)) continue;
    const records = independentCsv(readFileSync(path.join(dir, "lists", name), "utf8"));
    out.set(name === "global.csv" ? "ZZ" : name.slice(0, 2), records.length - 1);
  }
  return out;
}

/** A private copy of the real lists to damage. */
function copyOfReal(): string {
  const dir = mkdtempSync(path.join(scratch, "lists-"));
  cpSync(path.join(REAL, "lists"), path.join(dir, "lists"), { recursive: true });
  return dir;
}

async function countsByCc(): Promise<Map<string, number>> {
  const rows = await queryRows<{ cc: string; n: number }>(t.services.db, "SELECT toString(cc) AS cc, count() AS n FROM citizenlab FINAL GROUP BY cc");
  return new Map(rows.map((r) => [r.cc, Number(r.n)]));
}

suite("CitizenLab updater", () => {
  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), "citizenlab-updater-"));
    t = await openTestServices();
  });
  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("loads the real lists completely: one table row per CSV row, per country", async () => {
    const expected = expectedCounts(REAL);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20_000); // what upstream asserts of a real list

    const r = await updateCitizenlab(t.services, { source: REAL });
    expect(r.rows).toBe(total);
    const [row] = await queryRows<{ n: number }>(t.services.db, "SELECT count() AS n FROM citizenlab FINAL");
    expect(Number(row!.n)).toBe(total);
    expect(await countsByCc()).toEqual(expected);
    // cis.csv (a region) and the legends are not country lists.
    expect(expected.has("ci") && !expected.has("cis")).toBe(true);
    // The real legend lags the lists; those countries load, with a warning.
    expect(r.warnings.join(" ")).toMatch(/\bmk\b/);
  });

  it("stores what a check-in needs: domain from the URL, global as ZZ", async () => {
    const rows = await queryRows<{ domain: string; url: string; cc: string; category_code: string }>(
      t.services.db,
      "SELECT domain, url, toString(cc) AS cc, category_code FROM citizenlab WHERE url = 'https://4genderjustice.org/'",
    );
    expect(rows).toContainEqual({ domain: "4genderjustice.org", url: "https://4genderjustice.org/", cc: "ZZ", category_code: "HUMR" });
  });

  it("a category not in the legend: no swap, the live table unchanged, the row named", async () => {
    const before = await tableFingerprint(t.services, "citizenlab");
    const dir = copyOfReal();
    appendFileSync(path.join(dir, "lists/it.csv"), "https://example.org/,NOTACAT,Nope,2024-01-01,ooni,\n");
    const lines = readFileSync(path.join(dir, "lists/it.csv"), "utf8").trimEnd().split("\n").length;
    const err = await updateCitizenlab(t.services, { source: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateError);
    expect((err as Error).message).toContain(`it.csv:${lines}: category_code "NOTACAT" is not in 00-LEGEND-new_category_codes.csv`);
    expect(await tableFingerprint(t.services, "citizenlab")).toEqual(before);
  });

  it("a truncated last line: no swap, the live table unchanged", async () => {
    const before = await tableFingerprint(t.services, "citizenlab");
    const dir = copyOfReal();
    const file = path.join(dir, "lists/global.csv");
    const text = readFileSync(file, "utf8");
    // Cut the file in the middle of its last row, as an interrupted download would.
    const lastRow = text.trimEnd().lastIndexOf("\n") + 1;
    writeFileSync(file, text.slice(0, lastRow + 30));
    const err = await updateCitizenlab(t.services, { source: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateError);
    expect((err as Error).message).toMatch(/global\.csv:\d+: \d fields where the header has 6/);
    expect(await tableFingerprint(t.services, "citizenlab")).toEqual(before);
  });

  it("a file cut inside a quoted field, and a bad URL, are refused too", async () => {
    const before = await tableFingerprint(t.services, "citizenlab");
    const dir = copyOfReal();
    appendFileSync(path.join(dir, "lists/de.csv"), 'https://example.org/,NEWS,News,2024-01-01,ooni,"unterminated note\n');
    const err1 = await updateCitizenlab(t.services, { source: dir }).catch((e: unknown) => e);
    expect((err1 as Error).message).toMatch(/de\.csv: unterminated quoted field/);

    const dir2 = copyOfReal();
    appendFileSync(path.join(dir2, "lists/fr.csv"), "htp:/broken url,NEWS,News,2024-01-01,ooni,\n");
    const err2 = await updateCitizenlab(t.services, { source: dir2 }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/fr\.csv:\d+: URL "htp:\/broken url" must start with http:\/\/ or https:\/\//);
    expect(await tableFingerprint(t.services, "citizenlab")).toEqual(before);
  });

  it("without the category legend nothing can be checked, so nothing loads", async () => {
    const dir = copyOfReal();
    rmSync(path.join(dir, "lists/00-LEGEND-new_category_codes.csv"));
    await expect(readCitizenlabStrict(dir)).rejects.toThrow(/has no 00-LEGEND-new_category_codes\.csv/);
  });

  it("refuses to shrink the table below UPDATER_MIN_KEEP_RATIO unless forced", async () => {
    const before = await tableFingerprint(t.services, "citizenlab");
    const dir = mkdtempSync(path.join(scratch, "small-"));
    mkdirSync(path.join(dir, "lists"));
    cpSync(path.join(REAL, "lists/00-LEGEND-new_category_codes.csv"), path.join(dir, "lists/00-LEGEND-new_category_codes.csv"));
    writeFileSync(path.join(dir, "lists/global.csv"), "url,category_code\nhttps://example.org/,NEWS\nhttps://example.net/path?q=1,HUMR\n");
    await expect(updateCitizenlab(t.services, { source: dir })).rejects.toThrow(/refusing to shrink citizenlab from \d+ to 2 rows/);
    expect(await tableFingerprint(t.services, "citizenlab")).toEqual(before);

    const forced = await updateCitizenlab(t.services, { source: dir, force: true });
    expect(forced.rows).toBe(2);
    expect(await countsByCc()).toEqual(new Map([["ZZ", 2]]));
  });

  it("clones a git repository (file:// here, no network) and reports its commit", async () => {
    const repo = copyOfReal();
    const git = (...args: string[]) =>
      execFileSync("git", ["-C", repo, ...args], {
        env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" },
      }).toString().trim();
    git("init", "-q");
    git("add", "lists");
    git("commit", "-q", "-m", "lists");
    const head = git("rev-parse", "HEAD");
    const r = await updateCitizenlab(t.services, { source: `file://${repo}`, force: true });
    expect(r.summary).toContain(`at ${head.slice(0, 12)}`);
    expect(await countsByCc()).toEqual(expectedCounts(REAL));
  });
});
