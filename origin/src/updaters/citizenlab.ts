import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import type { Services } from "../services";
import type { CitizenlabRow } from "../testlists/citizenlab-files";
import { listsDir } from "../testlists/citizenlab-files";
import { CsvError, parseCsv } from "../testlists/csv";
import { replaceTable, UpdateError } from "./swap";
import type { UpdateOptions, UpdateResult } from "./types";
import { checkTestListUrl } from "./url-rules";

// CitizenLab test lists → citizenlab, strictly: every row of every country list must be valid or
// nothing is loaded. The files and the rules follow the upstream updater (ooni/backend analysis
// citizenlab_test_lists_updater): `lists/<stem>.csv` where the stem is two letters (a country) or
// "global" (stored as cc "ZZ"); other files (legends, regional lists such as cis.csv) are not
// loaded. Upstream silently skipped rows with a bad URL; here any bad row fails the update, since a
// half-valid list is what "atomic" is meant to keep out.
//
// Category codes must be in the legend `00-LEGEND-new_category_codes.csv` ("New Code" column).
// Country codes come from the file name and must be two letters; the country legend
// (`00-LEGEND-country_codes.csv`) is consulted but only warned about, because the real legend lags
// the lists (cd, mk, ps, rs, ss, tl have lists but no legend entry) and upstream loads them all.

const execFileAsync = promisify(execFile);

export const CATEGORY_LEGEND = "00-LEGEND-new_category_codes.csv";
export const COUNTRY_LEGEND = "00-LEGEND-country_codes.csv";
const MAX_PROBLEMS_SHOWN = 10;

export interface CitizenlabInput {
  rows: CitizenlabRow[];
  /** Country and global files loaded. */
  files: string[];
  /** Same (cc, url, category) listed twice: kept once (the table would collapse them anyway). */
  duplicates: number;
  /** Countries with a list but no entry in the country legend (warning only). */
  notInCountryLegend: string[];
}

const CategoryCode = z.string().regex(/^[A-Z0-9]{2,10}$/);

function problemList(problems: string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  ${p}`);
  if (problems.length > MAX_PROBLEMS_SHOWN) shown.push(`  … and ${problems.length - MAX_PROBLEMS_SHOWN} more`);
  return shown.join("\n");
}

async function readLegendColumn(file: string, column: string): Promise<Set<string> | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    throw new UpdateError(`${path.basename(file)}: ${(err as Error).message}`);
  }
  const header = records[0]?.fields.map((h) => h.trim()) ?? [];
  const col = header.indexOf(column);
  if (col < 0) throw new UpdateError(`${path.basename(file)} has no "${column}" column`);
  const values = new Set<string>();
  for (const r of records.slice(1)) {
    const v = (r.fields[col] ?? "").trim();
    if (v !== "") values.add(v);
  }
  return values;
}

/** Reads and validates a CitizenLab checkout; throws UpdateError listing the problems. */
export async function readCitizenlabStrict(dir: string): Promise<CitizenlabInput> {
  const root = await listsDir(dir);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    throw new UpdateError(`cannot read ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!names.includes("global.csv")) throw new UpdateError(`${root} has no global.csv: not the CitizenLab layout (lists/global.csv, lists/<cc>.csv)`);

  const categories = await readLegendColumn(path.join(root, CATEGORY_LEGEND), "New Code");
  if (!categories) throw new UpdateError(`${root} has no ${CATEGORY_LEGEND}: category codes cannot be checked`);
  const badLegend = [...categories].filter((c) => !CategoryCode.safeParse(c).success);
  if (badLegend.length) throw new UpdateError(`${CATEGORY_LEGEND} has malformed codes: ${badLegend.slice(0, 5).join(", ")}`);
  const countries = await readLegendColumn(path.join(root, COUNTRY_LEGEND), "CountryCode");

  const files = names.filter((n) => n === "global.csv" || /^[a-z]{2}\.csv$/.test(n)).sort();
  const rows: CitizenlabRow[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const notInCountryLegend: string[] = [];
  let duplicates = 0;

  for (const name of files) {
    const cc = name === "global.csv" ? "ZZ" : name.slice(0, 2);
    if (cc !== "ZZ" && countries && !countries.has(cc.toUpperCase())) notInCountryLegend.push(cc);
    const file = path.join(root, name);
    if (!(await stat(file)).isFile()) continue;
    let records;
    try {
      records = parseCsv(await readFile(file, "utf8"));
    } catch (err) {
      // An unterminated quote: the file was cut off or mangled.
      problems.push(`${name}: ${err instanceof CsvError ? err.message : (err as Error).message}`);
      continue;
    }
    const header = records[0]?.fields.map((h) => h.trim().toLowerCase()) ?? [];
    const urlCol = header.indexOf("url");
    const catCol = header.indexOf("category_code");
    if (urlCol < 0 || catCol < 0) {
      problems.push(`${name}:1: the header must name url and category_code`);
      continue;
    }
    for (const { line, fields } of records.slice(1)) {
      // A truncated or merged line has the wrong number of fields, even if url and category parse.
      if (fields.length !== header.length) {
        problems.push(`${name}:${line}: ${fields.length} fields where the header has ${header.length}`);
        continue;
      }
      const url = fields[urlCol]!;
      const category = fields[catCol]!.trim();
      const verdict = checkTestListUrl(url);
      if (!verdict.ok) {
        problems.push(`${name}:${line}: URL ${JSON.stringify(url.slice(0, 200))} ${verdict.reason}`);
        continue;
      }
      if (!categories.has(category)) {
        problems.push(`${name}:${line}: category_code ${JSON.stringify(category)} is not in ${CATEGORY_LEGEND}`);
        continue;
      }
      const key = `${cc}\t${category}\t${url}`;
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      rows.push({ domain: verdict.host, url, cc, category_code: category });
    }
  }
  if (problems.length) {
    throw new UpdateError(`the CitizenLab lists in ${root} have ${problems.length} invalid rows; nothing was loaded:\n${problemList(problems)}`);
  }
  return { rows, files, duplicates, notInCountryLegend };
}

// ---------------------------------------------------------------------------------------------
// Where the lists come from: a directory (a checkout, possibly a git work tree) read in place, or a
// git URL cloned shallowly into a temporary directory that is removed afterwards.

export function isGitUrl(source: string): boolean {
  return /^(git\+)?(https?|ssh|git|file):\/\//i.test(source) || /^[^/\s]+@[^:\s]+:/.test(source);
}

async function git(args: string[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", args, {
      timeout: opts.timeoutMs,
      signal: opts.signal,
      // Never prompt for credentials: a timer has nobody to answer.
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true" },
      maxBuffer: 1 << 20,
    });
    return stdout.trim();
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new UpdateError(`git ${args[0]} failed: ${(e.stderr || e.message).trim().split("\n").slice(-3).join(" ")}`);
  }
}

async function gitCommit(dir: string, timeoutMs: number): Promise<string | null> {
  if (!(await stat(path.join(dir, ".git")).then(() => true, () => false))) return null;
  return git(["-C", dir, "rev-parse", "HEAD"], { timeoutMs }).catch(() => null);
}

/** Runs `fn` on a directory holding the lists: the source itself, or a fresh shallow clone of it. */
export async function withCitizenlabCheckout<T>(
  source: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
  fn: (dir: string, commit: string | null) => Promise<T>,
): Promise<T> {
  if (!isGitUrl(source)) {
    if (!(await stat(source).then((s) => s.isDirectory(), () => false))) {
      throw new UpdateError(`CITIZENLAB_SOURCE ${source} is neither a directory nor a git URL`);
    }
    return fn(source, await gitCommit(source, opts.timeoutMs));
  }
  const tmp = await mkdtemp(path.join(tmpdir(), "ooni-citizenlab-"));
  try {
    const url = source.replace(/^git\+/i, "");
    await git(["clone", "--depth", "1", "--quiet", "--", url, path.join(tmp, "repo")], opts);
    const dir = path.join(tmp, "repo");
    return await fn(dir, await gitCommit(dir, opts.timeoutMs));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function updateCitizenlab(services: Services, opts: UpdateOptions = {}): Promise<UpdateResult> {
  const cfg = services.config.updaters;
  const source = opts.source ?? cfg.citizenlabSource;
  if (!source) throw new UpdateError("no source: set CITIZENLAB_SOURCE (a test-lists checkout or git URL) or pass --source");
  return withCitizenlabCheckout(source, { timeoutMs: cfg.httpTimeoutMs, signal: opts.signal }, async (dir, commit): Promise<UpdateResult> => {
    const input = await readCitizenlabStrict(dir);
    const countries = new Set(input.rows.filter((r) => r.cc !== "ZZ").map((r) => r.cc)).size;
    const warnings = input.notInCountryLegend.length
      ? [`countries with a list but not in ${COUNTRY_LEGEND}: ${input.notInCountryLegend.join(", ")}`]
      : [];
    if (opts.dryRun) {
      return { updater: "citizenlab", rows: input.rows.length, previousRows: null, summary: `dry run: ${input.rows.length} valid rows in ${input.files.length} files (${countries} countries)`, warnings, tables: {} };
    }
    const r = await replaceTable(services.db, input.rows as unknown as Record<string, unknown>[], {
      live: "citizenlab",
      staging: "citizenlab_flip",
      minKeepRatio: opts.force ? 0 : cfg.minKeepRatio,
      final: true,
      signal: opts.signal,
    });
    // This host's check-in answers from the new lists at once; other hosts at their next poll.
    // (Services built for one command may have no probe services.)
    await services.probe?.testLists.reload().catch(() => {});
    const from = commit ? ` at ${commit.slice(0, 12)}` : "";
    return {
      updater: "citizenlab",
      rows: r.rows,
      previousRows: r.previousRows,
      summary: `citizenlab: ${r.rows} rows from ${input.files.length} files (${countries} countries)${from}, was ${r.previousRows}` +
        (input.duplicates ? `; ${input.duplicates} duplicate rows listed once` : ""),
      warnings,
      tables: { citizenlab: r.rows },
    };
  });
}
