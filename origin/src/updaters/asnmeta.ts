import { z } from "zod";
import type { Services } from "../services";
import { CsvError, parseCsv } from "../testlists/csv";
import { isUrl, readSource, redactUrl, SourceError } from "./fetch";
import { replaceTable, UpdateError } from "./swap";
import type { UpdateOptions, UpdateResult } from "./types";

// ASN metadata → asnmeta (asn, org_name, cc, changed, aut_name, source): the history of each
// network's organisation name; /api/_/asnmeta serves the newest name per ASN. Two input formats
// (docs/operations.md#asn-metadata), told apart by the first character, optionally gzipped:
//
// 1. JSON, upstream's all_as_org_map.json (ooni/historical-geoip):
//      {"<asn>": [[org_name, cc, "YYYYMMDD", aut_name, source], ...], ...}
// 2. CSV with a header naming the columns (order free, extra columns ignored):
//      asn,org_name,cc,changed,aut_name,source
//      3269,Telecom Italia S.p.A.,IT,2021-03-01,ASN-IBSNAZ,RIPE
//    asn may be written AS3269; changed as YYYY-MM-DD or YYYYMMDD.
//
// Every row must be valid or nothing is loaded.

const MAX_PROBLEMS_SHOWN = 10;

function validDay(v: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  // Rejects 2021-02-30 (which Date would roll over) and anything outside ClickHouse's Date range.
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(v) && v >= "1970-01-01" && v <= "2149-06-06";
}

const DateText = z
  .string()
  .trim()
  .transform((v) => (/^\d{8}$/.test(v) ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}` : v))
  .refine(validDay, { error: "changed must be a date YYYY-MM-DD or YYYYMMDD (1970–2149)" });

const Asn = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const digits = String(v).trim().replace(/^AS/i, "");
  const n = /^\d{1,10}$/.test(digits) ? Number(digits) : NaN;
  if (!(n >= 1 && n <= 4294967295)) {
    ctx.addIssue({ code: "custom", message: "asn must be a number 1–4294967295 (AS prefix allowed)" });
    return z.NEVER;
  }
  return n;
});

export const AsnMetaRow = z.object({
  asn: Asn,
  org_name: z.string().max(1024, { error: "org_name longer than 1024 characters" }),
  cc: z
    .string()
    .trim()
    .regex(/^([A-Za-z]{2})?$/, { error: "cc must be a two-letter country code or empty" })
    .transform((v) => v.toUpperCase()),
  changed: DateText,
  aut_name: z.string().max(1024, { error: "aut_name longer than 1024 characters" }),
  source: z.string().max(64, { error: "source longer than 64 characters" }),
});
export type AsnMetaRow = z.output<typeof AsnMetaRow>;

const JsonEntry = z.tuple([z.string(), z.string(), z.string(), z.string(), z.string()]);
const JsonMap = z.record(z.string(), z.array(z.unknown()));

function describeIssue(err: z.ZodError): string {
  const issue = err.issues[0]!;
  return issue.message;
}

function fail(problems: string[], what: string): never {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  ${p}`);
  if (problems.length > MAX_PROBLEMS_SHOWN) shown.push(`  … and ${problems.length - MAX_PROBLEMS_SHOWN} more`);
  throw new UpdateError(`${what} has ${problems.length} invalid entries; nothing was loaded:\n${shown.join("\n")}`);
}

export function parseAsnMetaJson(text: string, what = "ASN metadata"): AsnMetaRow[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UpdateError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  const map = JsonMap.safeParse(raw);
  if (!map.success) throw new UpdateError(`${what} must be a JSON object {"<asn>": [[org_name, cc, "YYYYMMDD", aut_name, source], …]}`);
  const rows: AsnMetaRow[] = [];
  const problems: string[] = [];
  for (const [asn, history] of Object.entries(map.data)) {
    if (!/^\d+$/.test(asn)) {
      problems.push(`key ${JSON.stringify(asn.slice(0, 40))}: not an AS number`);
      continue;
    }
    history.forEach((entry, i) => {
      const tuple = JsonEntry.safeParse(entry);
      if (!tuple.success) {
        problems.push(`AS${asn}[${i}]: must be [org_name, cc, "YYYYMMDD", aut_name, source]`);
        return;
      }
      const [org_name, cc, changed, aut_name, source] = tuple.data;
      const row = AsnMetaRow.safeParse({ asn, org_name, cc, changed, aut_name, source });
      if (row.success) rows.push(row.data);
      else problems.push(`AS${asn}[${i}]: ${describeIssue(row.error)}`);
    });
  }
  if (problems.length) fail(problems, what);
  return rows;
}

const COLUMNS = ["asn", "org_name", "cc", "changed", "aut_name", "source"] as const;

export function parseAsnMetaCsv(text: string, what = "ASN metadata"): AsnMetaRow[] {
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    throw new UpdateError(`${what}: ${err instanceof CsvError ? err.message : (err as Error).message}`);
  }
  const header = records[0]?.fields.map((h) => h.trim().toLowerCase()) ?? [];
  const missing = COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) throw new UpdateError(`${what}: the CSV header must name ${COLUMNS.join(",")} (missing ${missing.join(", ")})`);
  const pos = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  const rows: AsnMetaRow[] = [];
  const problems: string[] = [];
  for (const { line, fields } of records.slice(1)) {
    if (fields.length !== header.length) {
      problems.push(`line ${line}: ${fields.length} fields where the header has ${header.length}`);
      continue;
    }
    const row = AsnMetaRow.safeParse(Object.fromEntries(COLUMNS.map((c) => [c, fields[pos[c]]!])));
    if (row.success) rows.push(row.data);
    else problems.push(`line ${line}: ${describeIssue(row.error)}`);
  }
  if (problems.length) fail(problems, what);
  return rows;
}

export function parseAsnMeta(text: string, what = "ASN metadata"): AsnMetaRow[] {
  const first = text.replace(/^\uFEFF/, "").trimStart()[0];
  const rows = first === "{" ? parseAsnMetaJson(text, what) : parseAsnMetaCsv(text, what);
  if (rows.length === 0) throw new UpdateError(`${what} holds no entries`);
  return rows;
}

export async function updateAsnMeta(services: Services, opts: UpdateOptions = {}): Promise<UpdateResult> {
  const cfg = services.config.updaters;
  const source = opts.source ?? cfg.asnmetaSource;
  if (!source) throw new UpdateError("no source: set ASNMETA_SOURCE (a JSON or CSV file or URL) or pass --source");
  const shown = isUrl(source) ? redactUrl(source) : source;
  let bytes: Buffer;
  try {
    bytes = await readSource(source, { timeoutMs: cfg.httpTimeoutMs, maxBytes: cfg.maxDownloadBytes, signal: opts.signal });
  } catch (err) {
    if (err instanceof SourceError) throw new UpdateError(err.message);
    throw err;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UpdateError(`${shown} is not valid UTF-8`);
  }
  const rows = parseAsnMeta(text, shown);
  const asns = new Set(rows.map((r) => r.asn)).size;
  if (opts.dryRun) {
    return { updater: "asnmeta", rows: rows.length, previousRows: null, summary: `dry run: ${rows.length} valid entries for ${asns} networks in ${shown}`, warnings: [], tables: {} };
  }
  const r = await replaceTable(services.db, rows, {
    live: "asnmeta",
    staging: "asnmeta_tmp",
    minKeepRatio: opts.force ? 0 : cfg.minKeepRatio,
    final: false,
    signal: opts.signal,
  });
  return {
    updater: "asnmeta",
    rows: r.rows,
    previousRows: r.previousRows,
    summary: `asnmeta: ${r.rows} entries for ${asns} networks from ${shown}, was ${r.previousRows}`,
    warnings: [],
    tables: { asnmeta: r.rows },
  };
}
