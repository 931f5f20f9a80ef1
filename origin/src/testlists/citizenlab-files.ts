import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { parseCsv } from "./csv";

// The CitizenLab test-lists layout: `lists/global.csv` and `lists/<cc>.csv` (two-letter country
// codes), each with a header naming at least `url` and `category_code`. Other files (legends,
// regional lists such as cis.csv) are not test lists for a country and are ignored.
//
// Rows become citizenlab table rows: cc is the lower-case country, or "ZZ" for global (what the
// legacy backend stored and what check-in queries expect).

export interface CitizenlabRow {
  domain: string;
  url: string;
  cc: string;
  category_code: string;
}

export interface RowProblem {
  file: string;
  line: number;
  reason: string;
}

const UrlSchema = z
  .string()
  .trim()
  .max(2048, { error: "URL longer than 2048 characters" })
  .refine((u) => {
    if (/\s/.test(u)) return false;
    try {
      const p = new URL(u);
      return (p.protocol === "http:" || p.protocol === "https:") && p.hostname !== "";
    } catch {
      return false;
    }
  }, { error: "not an http(s) URL" });

const RowSchema = z.object({
  url: UrlSchema,
  category_code: z.string().trim().regex(/^[A-Z0-9]{2,10}$/, { error: "category_code must be 2-10 upper-case letters or digits" }),
});

export class TestListDirError extends Error {}

/** The directory holding the CSV files: DIR/lists when present, else DIR itself. */
export async function listsDir(dir: string): Promise<string> {
  const nested = path.join(dir, "lists");
  if (await stat(nested).then((s) => s.isDirectory(), () => false)) return nested;
  return dir;
}

export async function readCitizenlabDir(dir: string): Promise<{ rows: CitizenlabRow[]; problems: RowProblem[]; files: string[] }> {
  const root = await listsDir(dir);
  const names = await readdir(root).catch((err: NodeJS.ErrnoException) => {
    throw new TestListDirError(`cannot read ${root}: ${err.code ?? err.message}`);
  });
  if (!names.includes("global.csv")) throw new TestListDirError(`${root} has no global.csv (expected the CitizenLab layout lists/global.csv, lists/<cc>.csv)`);
  const files = names.filter((n) => n === "global.csv" || /^[a-z]{2}\.csv$/.test(n)).sort();
  const rows: CitizenlabRow[] = [];
  const problems: RowProblem[] = [];
  const seen = new Set<string>();
  for (const name of files) {
    const cc = name === "global.csv" ? "ZZ" : name.slice(0, 2);
    const csv = parseCsv(await readFile(path.join(root, name), "utf8"));
    const header = csv[0]?.fields.map((h) => h.trim().toLowerCase()) ?? [];
    const urlCol = header.indexOf("url");
    const catCol = header.indexOf("category_code");
    if (urlCol < 0 || catCol < 0) {
      problems.push({ file: name, line: 1, reason: "header lacks url or category_code" });
      continue;
    }
    for (const { line, fields } of csv.slice(1)) {
      const parsed = RowSchema.safeParse({ url: fields[urlCol] ?? "", category_code: fields[catCol] ?? "" });
      if (!parsed.success) {
        problems.push({ file: name, line, reason: parsed.error.issues[0]!.message });
        continue;
      }
      const { url, category_code } = parsed.data;
      const key = `${cc}\t${category_code}\t${url}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push({ domain: new URL(url).hostname.toLowerCase(), url, cc, category_code });
    }
  }
  return { rows, problems, files };
}
