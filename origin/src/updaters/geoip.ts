import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { AsnResponse, CountryResponse, Reader, Response } from "maxmind";
import { extract } from "tar-stream";
import { repoRoot } from "../config";
import { loadMmdb } from "../geoip/mmdb";
import { asnOf, countryCodeOf } from "../geoip/records";
import type { Services } from "../services";
import { expandUrlTemplate, fetchBytes, gunzipIfNeeded, redactUrl, SourceError } from "./fetch";
import { UpdateError } from "./swap";
import type { UpdateOptions, UpdateResult } from "./types";

// GeoIP downloader: fetch the country and ASN databases (DB-IP lite .mmdb.gz, MaxMind GeoLite2
// .tar.gz, or a plain .mmdb) from the configured URLs, check each one, then move it over the file
// the origin serves (GEOIP_COUNTRY_DB / GEOIP_ASN_DB) with a rename. The live readers reload when
// the file changes (geoip/live-reader.ts); each swaps its Reader in one assignment after parsing
// the new file completely, so a lookup during the update is answered by the old database or the
// new one, never fails. Both downloads are checked before either file is replaced.
//
// Checks: the file parses as a MaxMind DB (geoip/mmdb.ts, the same loader the origin uses), its
// database type is the right kind, every address in GEOIP_VERIFY_IPS resolves (a country; an
// ASN), and it is not older than the database it replaces (a stale mirror) unless --force.

type Kind = "country" | "asn";

const TYPE_RULE: Record<Kind, RegExp> = { country: /country|city/i, asn: /asn/i };

interface Candidate {
  kind: Kind;
  url: string;
  target: string;
  tmp: string;
  buildEpoch: Date;
  databaseType: string;
  unchanged: boolean;
}

async function firstMmdbInTar(tar: Buffer): Promise<Buffer | null> {
  const ex = extract();
  Readable.from([tar]).pipe(ex);
  for await (const entry of ex) {
    if (entry.header.type === "file" && entry.header.name.endsWith(".mmdb")) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      ex.destroy();
      return Buffer.concat(chunks);
    }
    entry.resume();
  }
  return null;
}

/** The .mmdb bytes inside whatever was downloaded: gzip, tar(.gz), or the file itself. */
export async function unpackMmdb(data: Buffer, maxBytes: number, label: string): Promise<Buffer> {
  const plain = await gunzipIfNeeded(data, maxBytes, label);
  // ustar magic at offset 257
  if (plain.length > 262 && plain.subarray(257, 262).toString("latin1") === "ustar") {
    const inner = await firstMmdbInTar(plain);
    if (!inner) throw new UpdateError(`${label} is a tar archive without a .mmdb file`);
    return inner;
  }
  return plain;
}

function resolvesAll(kind: Kind, reader: Reader<Response>, ips: readonly string[]): string[] {
  const failures: string[] = [];
  for (const ip of ips) {
    try {
      const rec = reader.get(ip);
      const ok = kind === "country" ? countryCodeOf(rec as CountryResponse | null) !== "ZZ" : asnOf(rec as AsnResponse | null) !== 0;
      if (!ok) failures.push(ip);
    } catch {
      failures.push(ip);
    }
  }
  return failures;
}

async function writeSynced(file: string, data: Uint8Array): Promise<void> {
  const fh = await open(file, "wx", 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function insideFixtures(file: string): boolean {
  const rel = path.relative(path.join(repoRoot, "origin/fixtures"), file);
  return !rel.startsWith("..") && !path.isAbsolute(rel);
}

async function prepare(services: Services, kind: Kind, urlTemplate: string, opts: UpdateOptions): Promise<Candidate> {
  const cfg = services.config.updaters;
  const target = kind === "country" ? services.config.geoip.countryDb : services.config.geoip.asnDb;
  const setting = kind === "country" ? "GEOIP_COUNTRY_DB" : "GEOIP_ASN_DB";
  if (insideFixtures(target)) {
    throw new UpdateError(`${setting} is the committed test fixture (${target}); set ${setting} to a file outside the repository before downloading`);
  }
  const url = expandUrlTemplate(urlTemplate);
  const shown = redactUrl(url);
  let data: Buffer;
  try {
    data = await unpackMmdb(await fetchBytes(url, { timeoutMs: cfg.httpTimeoutMs, maxBytes: cfg.maxDownloadBytes, signal: opts.signal }), cfg.maxDownloadBytes, shown);
  } catch (err) {
    if (err instanceof SourceError) throw new UpdateError(err.message);
    throw err;
  }
  const live = await readFile(target).catch(() => null);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  await writeSynced(tmp, data);
  try {
    let reader: Reader<Response>;
    try {
      reader = await loadMmdb<Response>(tmp, kind);
    } catch (err) {
      throw new UpdateError(`${shown}: ${(err as Error).message.replace(tmp, "(download)")}`);
    }
    const md = reader.metadata;
    if (!TYPE_RULE[kind].test(md.databaseType)) {
      throw new UpdateError(`${shown} is a ${md.databaseType} database, not a ${kind} one`);
    }
    const failed = resolvesAll(kind, reader, cfg.geoip.verifyIps);
    if (failed.length) {
      throw new UpdateError(`${shown}: sample lookups found no ${kind === "country" ? "country" : "ASN"} for ${failed.join(", ")} (GEOIP_VERIFY_IPS)`);
    }
    let unchanged = false;
    if (live) {
      unchanged = live.equals(data);
      const liveReader = await loadMmdb<Response>(target, kind).catch(() => null);
      if (!unchanged && liveReader && md.buildEpoch < liveReader.metadata.buildEpoch && !opts.force) {
        throw new UpdateError(
          `${shown} was built ${md.buildEpoch.toISOString()}, before the database in use (${liveReader.metadata.buildEpoch.toISOString()}); use --force to install it anyway`,
        );
      }
    }
    return { kind, url: shown, target, tmp, buildEpoch: md.buildEpoch, databaseType: md.databaseType, unchanged };
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

export async function updateGeoip(services: Services, opts: UpdateOptions = {}): Promise<UpdateResult> {
  const g = services.config.updaters.geoip;
  if (opts.source) throw new UpdateError("geoip takes no --source: it downloads GEOIP_COUNTRY_URL and GEOIP_ASN_URL");
  const wanted = ([["country", g.countryUrl], ["asn", g.asnUrl]] as const).filter((w): w is readonly [Kind, string] => w[1] !== null);
  if (wanted.length === 0) throw new UpdateError("no source: set GEOIP_COUNTRY_URL and/or GEOIP_ASN_URL");
  const candidates: Candidate[] = [];
  try {
    for (const [kind, url] of wanted) {
      opts.signal?.throwIfAborted();
      candidates.push(await prepare(services, kind, url, opts));
    }
    const describe = (c: Candidate) => `${c.kind} ${c.databaseType} built ${c.buildEpoch.toISOString().slice(0, 10)}${c.unchanged ? " (unchanged)" : ""}`;
    if (opts.dryRun) {
      return { updater: "geoip", rows: candidates.length, previousRows: null, summary: `dry run: ${candidates.map(describe).join("; ")} verified`, warnings: [], tables: {} };
    }
    for (const c of candidates) {
      if (c.unchanged) continue;
      await rename(c.tmp, c.target);
      await fsyncDir(path.dirname(c.target));
    }
    // This process need not wait for its own file poll; other processes pick the files up by theirs.
    await services.geoip.reload();
    const installed = candidates.filter((c) => !c.unchanged).length;
    return {
      updater: "geoip",
      rows: candidates.length,
      previousRows: null,
      summary: `geoip: ${installed ? "installed" : "nothing new"}: ${candidates.map(describe).join("; ")}`,
      warnings: [],
      tables: {},
    };
  } finally {
    await Promise.all(candidates.map((c) => unlink(c.tmp).catch(() => {})));
  }
}
