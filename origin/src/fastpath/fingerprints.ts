import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { latin1, pyB64Decode } from "./scoring/base64";
import { isDict, own } from "./scoring/py";
import { SubstringSet } from "./scoring/substring-set";

// Blocking fingerprints as published by ooni/blocking-fingerprints (fingerprints_dns.csv and
// fingerprints_http.csv): parsing, validation and precompiled matchers.

export const FINGERPRINT_SCOPES = ["nat", "isp", "prod", "inst", "vbw", "fp", "injb", "prov"] as const;
export const PATTERN_TYPES = ["full", "prefix", "contains", "regexp"] as const;

export type FingerprintKind = "dns" | "http";
export type FingerprintScope = (typeof FINGERPRINT_SCOPES)[number];
export type PatternType = (typeof PATTERN_TYPES)[number];
export type Locality = "general" | "global" | "country" | "isp" | "local";

export interface Fingerprint {
  readonly name: string;
  readonly scope: FingerprintScope;
  readonly other_names: string;
  /** "dns", "body" or "header.<name>" */
  readonly location_found: string;
  readonly pattern_type: PatternType;
  readonly pattern: string;
  readonly confidence_no_fp: number;
  /** Upper-case country codes, sorted, without "ZZ". */
  readonly expected_countries: readonly string[];
  readonly source: string;
  readonly exp_url: string;
  readonly notes: string;
}

/** The fingerprint fields copied into scores.fingerprints (upstream `minifp`). */
export interface MiniFingerprint {
  name: string;
  scope: FingerprintScope;
  location_found: string;
  confidence_no_fp: number;
  expected_countries: string[];
}

/**
 * "fastpath" reproduces the upstream fastpath exactly: DNS patterns are compared for equality
 * whatever their type, every body pattern is a plain substring (regexp ones included, taken
 * literally), and only full/prefix header patterns are used. "strict" honours pattern_type
 * everywhere (contains and regexp headers too).
 */
export type MatchSemantics = "fastpath" | "strict";

interface HeaderRule {
  readonly index: number;
  readonly type: PatternType;
  readonly pattern: string;
  readonly regex: RegExp | undefined;
  /** Whether `{format: "base64"}` values are decoded before matching. */
  readonly decodes: boolean;
}

/**
 * One header name's rules, indexed: "location" alone has ~280 prefix rules, and testing each
 * with startsWith on every redirect was ~5 % of bytes → row. Full rules by their pattern, prefix
 * rules by their first PREFIX_KEY characters (shorter ones, and contains/regexp, are tried one by one).
 */
interface HeaderRuleIndex {
  readonly full: ReadonlyMap<string, readonly HeaderRule[]>;
  readonly prefixes: ReadonlyMap<string, readonly HeaderRule[]>;
  readonly others: readonly HeaderRule[];
  readonly anyDecodes: boolean;
}

const PREFIX_KEY = 12;

function nameLengths(names: Iterable<string>): Uint8Array {
  const list = [...names];
  const out = new Uint8Array(Math.max(0, ...list.map((n) => n.length)) + 1);
  for (const n of list) out[n.length] = 1;
  return out;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, v: V): void {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}

function indexHeaderRules(rules: readonly HeaderRule[]): HeaderRuleIndex {
  const full = new Map<string, HeaderRule[]>();
  const prefixes = new Map<string, HeaderRule[]>();
  const others: HeaderRule[] = [];
  for (const rule of rules) {
    if (rule.type === "full") pushTo(full, rule.pattern, rule);
    else if (rule.type === "prefix" && rule.pattern.length >= PREFIX_KEY) pushTo(prefixes, rule.pattern.slice(0, PREFIX_KEY), rule);
    else others.push(rule);
  }
  return { full, prefixes, others, anyDecodes: rules.some((r) => r.decodes) };
}

interface BodyRule {
  readonly index: number;
  readonly type: "full" | "prefix" | "regexp";
  readonly pattern: string;
  readonly bytes: Uint8Array;
  readonly regex: RegExp | undefined;
}

interface DnsRule {
  readonly fp: Fingerprint;
  readonly type: PatternType;
  readonly regex: RegExp | undefined;
}

/** Matchers built once per fingerprint list; not meant to be used directly. */
export interface CompiledFingerprints {
  readonly dnsExact: ReadonlyMap<string, readonly Fingerprint[]>;
  readonly dnsIndex: ReadonlyMap<Fingerprint, number>;
  readonly dnsOther: readonly DnsRule[];
  readonly bodySubstrings: SubstringSet;
  readonly bodySubstringIndex: Int32Array;
  readonly bodyOther: readonly BodyRule[];
  readonly headerRules: ReadonlyMap<string, readonly HeaderRule[]>;
  readonly headerIndex: ReadonlyMap<string, HeaderRuleIndex>;
  /** [n] = 1 when some header rule's name has n characters: most response headers have none. */
  readonly headerNameLengths: Uint8Array;
}

export interface FingerprintSet {
  readonly dns: readonly Fingerprint[];
  /** Sorted by name, as the fastpath read them from its table keyed by name. */
  readonly http: readonly Fingerprint[];
  readonly semantics: MatchSemantics;
  /** Patterns left out because they are not valid JavaScript regular expressions. */
  readonly skipped: readonly { name: string; reason: string }[];
  readonly compiled: CompiledFingerprints;
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180)

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  readonly line: number;
  readonly fields: string[];
}

/**
 * RFC 4180 CSV: comma separated, optional double quotes, "" for a quote inside quotes, line
 * breaks (CRLF, LF or CR) allowed inside quotes. Blank lines are skipped. Throws on an
 * unterminated quote or on text after a closing quote.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        blank = false;
        i++;
        for (;;) {
          if (i >= n) throw new Error(`line ${start}: unterminated quoted field`);
          const q = text.indexOf('"', i);
          if (q < 0) throw new Error(`line ${start}: unterminated quoted field`);
          const chunk = text.slice(i, q);
          line += countLineBreaks(chunk);
          field += chunk;
          if (text[q + 1] === '"') {
            field += '"';
            i = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        const c = text[i];
        if (i < n && c !== "," && c !== "\n" && c !== "\r") {
          throw new Error(`line ${line}: unexpected character after closing quote`);
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13) break;
          j++;
        }
        field = text.slice(i, j);
        if (field.length > 0) blank = false;
        i = j;
      }
      fields.push(field);
      if (i < n && text[i] === ",") {
        blank = false;
        i++;
        continue;
      }
      break;
    }
    // End of record: consume one line break (CRLF, LF or CR).
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    line++;
    if (!blank) records.push({ line: start, fields });
  }
  return records;
}

function countLineBreaks(s: string): number {
  let count = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 10) count++;
    else if (c === 13 && s.charCodeAt(k + 1) !== 10) count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Fingerprint rows

const COLUMNS = [
  "name",
  "scope",
  "other_names",
  "location_found",
  "pattern_type",
  "pattern",
  "confidence_no_fp",
  "expected_countries",
  "source",
  "exp_url",
  "notes",
] as const;

const COUNTRY_CODE = /^[A-Za-z]{2}$/;
// A token as in RFC 9110 field names.
const HEADER_LOCATION = /^header\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** "AU,DE, fr ,ZZ" → ["AU", "DE", "FR"]: upper case, sorted, unique, no "ZZ" (upstream rule). */
export function parseExpectedCountries(s: string): string[] {
  const set = new Set<string>();
  for (const part of s.split(",")) {
    const cc = part.trim().toUpperCase();
    if (cc !== "" && cc !== "ZZ") set.add(cc);
  }
  return [...set].sort();
}

function rowSchema(kind: FingerprintKind) {
  return z.object({
    name: z.string().trim().min(1, "must not be empty"),
    scope: z.enum(FINGERPRINT_SCOPES),
    other_names: z.string(),
    location_found:
      kind === "dns"
        ? z.literal("dns")
        : z
            .string()
            .refine((v) => v === "body" || HEADER_LOCATION.test(v), 'must be "body" or "header.<name>"'),
    pattern_type: z.enum(PATTERN_TYPES),
    pattern: z.string().min(1, "must not be empty"),
    confidence_no_fp: z
      .string()
      .regex(/^\s*\d{1,3}\s*$/, "must be an integer 0-255")
      .transform(Number)
      .refine((v) => v <= 255, "must be an integer 0-255"),
    expected_countries: z
      .string()
      .refine(
        (v) => v.split(",").every((cc) => cc.trim() === "" || COUNTRY_CODE.test(cc.trim())),
        "must be a comma separated list of 2-letter country codes",
      )
      .transform(parseExpectedCountries),
    source: z.string(),
    exp_url: z.string(),
    notes: z.string(),
  });
}

/**
 * Parses fingerprints_dns.csv / fingerprints_http.csv. The header row names the columns (order
 * free, extra columns ignored). A bad row throws an Error naming its line and field.
 */
export function parseFingerprintCsv(kind: FingerprintKind, text: string): Fingerprint[] {
  const label = `fingerprints_${kind}.csv`;
  const records = parseCsv(text);
  const header = records[0];
  if (!header) throw new Error(`${label}: empty file`);
  const positions = new Map<string, number>();
  header.fields.forEach((f, idx) => positions.set(f.trim(), idx));
  for (const col of COLUMNS) {
    if (!positions.has(col)) throw new Error(`${label} line ${header.line}: missing column "${col}"`);
  }
  const schema = rowSchema(kind);
  const out: Fingerprint[] = [];
  for (let r = 1; r < records.length; r++) {
    const rec = records[r]!;
    if (rec.fields.length !== header.fields.length) {
      throw new Error(
        `${label} line ${rec.line}: expected ${header.fields.length} fields, got ${rec.fields.length}`,
      );
    }
    const raw: Record<string, string> = {};
    for (const col of COLUMNS) raw[col] = rec.fields[positions.get(col)!] ?? "";
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = String(issue.path[0] ?? "row");
      throw new Error(`${label} line ${rec.line}: field "${field}": ${issue.message}`);
    }
    out.push(parsed.data);
  }
  return out;
}

/** Reads fingerprints_dns.csv and fingerprints_http.csv from a directory. */
export async function loadFingerprintDir(
  dir: string,
  opts: { semantics?: MatchSemantics } = {},
): Promise<FingerprintSet> {
  const [dns, http] = await Promise.all([
    readFile(path.join(dir, "fingerprints_dns.csv"), "utf8"),
    readFile(path.join(dir, "fingerprints_http.csv"), "utf8"),
  ]);
  return buildFingerprintSet(parseFingerprintCsv("dns", dns), parseFingerprintCsv("http", http), opts);
}

// ---------------------------------------------------------------------------------------------
// Confirmation and locality

const SCOPE_LOCALITY: Partial<Record<string, Locality>> = {
  inst: "local",
  isp: "isp",
  nat: "country",
  prod: "general",
};

/** Where a confirmed match puts its 1.0: inst→local, isp→isp, nat→country, anything else→general. */
export function scopeLocality(scope: string): Locality {
  return SCOPE_LOCALITY[scope] ?? "general";
}

/** Confirmed blocking: the probe's country (not ZZ) is expected, or the scope is isp or nat. */
export function isConfirmed(probeCc: string, fp: Pick<Fingerprint, "scope" | "expected_countries">): boolean {
  if (probeCc !== "ZZ" && fp.expected_countries.includes(probeCc)) return true;
  return fp.scope === "isp" || fp.scope === "nat";
}

export function miniFingerprint(fp: Fingerprint): MiniFingerprint {
  return {
    name: fp.name,
    scope: fp.scope,
    location_found: fp.location_found,
    confidence_no_fp: fp.confidence_no_fp,
    expected_countries: [...fp.expected_countries],
  };
}

// ---------------------------------------------------------------------------------------------
// Building the matchers

function compileRegex(fp: Fingerprint, skipped: { name: string; reason: string }[]): RegExp | undefined {
  try {
    return new RegExp(fp.pattern);
  } catch (err) {
    skipped.push({ name: fp.name, reason: (err as Error).message });
    return undefined;
  }
}

function byName(a: Fingerprint, b: Fingerprint): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Precompiles the matchers: exact-match maps, one substring automaton, regexps compiled once. */
export function buildFingerprintSet(
  dns: readonly Fingerprint[],
  http: readonly Fingerprint[],
  opts: { semantics?: MatchSemantics } = {},
): FingerprintSet {
  const semantics = opts.semantics ?? "fastpath";
  const strict = semantics === "strict";
  const dnsSorted = [...dns].sort(byName);
  const httpSorted = [...http].sort(byName);
  const skipped: { name: string; reason: string }[] = [];

  const dnsExact = new Map<string, Fingerprint[]>();
  const dnsIndex = new Map<Fingerprint, number>();
  const dnsOther: DnsRule[] = [];
  for (const [index, fp] of dnsSorted.entries()) {
    dnsIndex.set(fp, index);
    if (!strict || fp.pattern_type === "full") {
      const list = dnsExact.get(fp.pattern);
      if (list) list.push(fp);
      else dnsExact.set(fp.pattern, [fp]);
    } else {
      const regex = fp.pattern_type === "regexp" ? compileRegex(fp, skipped) : undefined;
      if (fp.pattern_type === "regexp" && !regex) continue;
      dnsOther.push({ fp, type: fp.pattern_type, regex });
    }
  }

  const substrings: string[] = [];
  const substringIndex: number[] = [];
  const bodyOther: BodyRule[] = [];
  const headerRules = new Map<string, HeaderRule[]>();
  const encoder = new TextEncoder();
  httpSorted.forEach((fp, index) => {
    if (fp.location_found === "body") {
      if (!strict || fp.pattern_type === "contains") {
        substrings.push(fp.pattern);
        substringIndex.push(index);
        return;
      }
      const regex = fp.pattern_type === "regexp" ? compileRegex(fp, skipped) : undefined;
      if (fp.pattern_type === "regexp" && !regex) return;
      bodyOther.push({
        index,
        type: fp.pattern_type as BodyRule["type"],
        pattern: fp.pattern,
        bytes: encoder.encode(fp.pattern),
        regex,
      });
      return;
    }
    if (!fp.location_found.startsWith("header.")) return;
    // Upstream only knows full and prefix header patterns.
    if (!strict && fp.pattern_type !== "full" && fp.pattern_type !== "prefix") return;
    const regex = fp.pattern_type === "regexp" ? compileRegex(fp, skipped) : undefined;
    if (fp.pattern_type === "regexp" && !regex) return;
    const name = fp.location_found.slice("header.".length).toLowerCase();
    const rule: HeaderRule = {
      index,
      type: fp.pattern_type,
      pattern: fp.pattern,
      regex,
      decodes: strict || fp.pattern_type === "prefix",
    };
    const list = headerRules.get(name);
    if (list) list.push(rule);
    else headerRules.set(name, [rule]);
  });

  return {
    dns: dnsSorted,
    http: httpSorted,
    semantics,
    skipped,
    compiled: {
      dnsExact,
      dnsIndex,
      dnsOther,
      bodySubstrings: new SubstringSet(substrings),
      bodySubstringIndex: Int32Array.from(substringIndex),
      bodyOther,
      headerRules,
      headerNameLengths: nameLengths(headerRules.keys()),
      headerIndex: new Map([...headerRules].map(([name, rules]) => [name, indexHeaderRules(rules)])),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Matching

const NONE: readonly Fingerprint[] = Object.freeze([]);

/** Whether `value` matches a pattern of the given type. */
export function matchPattern(type: PatternType, pattern: string, value: string, regex?: RegExp): boolean {
  switch (type) {
    case "full":
      return value === pattern;
    case "prefix":
      return value.startsWith(pattern);
    case "contains":
      return value.includes(pattern);
    default:
      return (regex ?? new RegExp(pattern)).test(value);
  }
}

/** DNS fingerprints matching one answer value (an ipv4, ipv6 or hostname), in set order. */
export function matchDnsValue(set: FingerprintSet, value: string): readonly Fingerprint[] {
  const { dnsExact, dnsIndex, dnsOther } = set.compiled;
  const exact = dnsExact.get(value);
  if (dnsOther.length === 0) return exact ?? NONE;
  const out = exact ? [...exact] : [];
  for (const rule of dnsOther) {
    if (matchPattern(rule.type, rule.fp.pattern, value, rule.regex)) out.push(rule.fp);
  }
  return out.sort((a, b) => dnsIndex.get(a)! - dnsIndex.get(b)!);
}

function bytesEqual(a: Uint8Array, b: Uint8Array, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[k] !== b[k]) return false;
  return true;
}

const utf8 = new TextDecoder();

/** Body fingerprints found in an HTTP body (text, or the bytes of a base64 body), in set order. */
export function matchBody(set: FingerprintSet, body: string | Uint8Array): Fingerprint[] {
  const { bodySubstrings, bodySubstringIndex, bodyOther } = set.compiled;
  const ids = typeof body === "string" ? bodySubstrings.findInString(body) : bodySubstrings.findInBytes(body);
  if (ids.length === 0 && bodyOther.length === 0) return [];
  const indices: number[] = ids.map((id) => bodySubstringIndex[id]!);
  let text: string | undefined;
  for (const rule of bodyOther) {
    let hit: boolean;
    if (typeof body === "string") {
      hit = matchPattern(rule.type, rule.pattern, body, rule.regex);
    } else if (rule.type === "regexp") {
      text ??= utf8.decode(body);
      hit = rule.regex!.test(text);
    } else if (rule.type === "full") {
      hit = body.length === rule.bytes.length && bytesEqual(body, rule.bytes, body.length);
    } else {
      hit = body.length >= rule.bytes.length && bytesEqual(body, rule.bytes, rule.bytes.length);
    }
    if (hit) indices.push(rule.index);
  }
  if (bodyOther.length > 0) indices.sort((a, b) => a - b);
  return indices.map((i) => set.http[i]!);
}

/**
 * Header fingerprints matching a response's headers, in set order. `headers` maps lower-case
 * names to values as found in the measurement: a string, or `{format: "base64", data}`.
 * Returns null when a base64 value that has to be decoded is invalid (Python raises there).
 */
export function matchHeaders(
  set: FingerprintSet,
  headers: ReadonlyMap<string, unknown>,
): Fingerprint[] | null {
  const { headerIndex } = set.compiled;
  const indices: number[] = [];
  for (const [name, value] of headers) {
    const index = headerIndex.get(name);
    if (!index) continue;
    if (typeof value === "string") {
      matchHeaderText(index, value, false, indices);
    } else if (index.anyDecodes && isDict(value) && own(value, "format") === "base64") {
      // Only rules that decode look at a base64 value; an invalid one fails the whole match.
      const data = own(value, "data");
      const bytes = pyB64Decode(data === undefined ? "" : data);
      if (!bytes) return null;
      matchHeaderText(index, latin1(bytes), true, indices);
    }
  }
  if (indices.length === 0) return [];
  return indices.sort((a, b) => a - b).map((i) => set.http[i]!);
}

/** Each rule of `index` is in exactly one bucket, so it is tested (and listed) at most once. */
function matchHeaderText(index: HeaderRuleIndex, text: string, decodedOnly: boolean, out: number[]): void {
  const test = (rules: readonly HeaderRule[] | undefined) => {
    if (!rules) return;
    for (const rule of rules) {
      if (decodedOnly && !rule.decodes) continue;
      if (matchPattern(rule.type, rule.pattern, text, rule.regex)) out.push(rule.index);
    }
  };
  test(index.full.get(text));
  if (text.length >= PREFIX_KEY) test(index.prefixes.get(text.slice(0, PREFIX_KEY)));
  test(index.others);
}
