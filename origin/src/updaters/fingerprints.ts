import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseFingerprintCsv, type Fingerprint, type FingerprintKind } from "../fastpath/fingerprints";
import { FastpathStore } from "../fastpath/pipeline/store";
import type { Services } from "../services";
import { fetchBytes, gunzipIfNeeded, isUrl, redactUrl } from "./fetch";
import { tableRowCount, UpdateError } from "./swap";
import type { UpdateOptions, UpdateResult } from "./types";

// Blocking fingerprints (ooni/blocking-fingerprints: fingerprints_dns.csv, fingerprints_http.csv)
// from a directory or a base URL such as
// https://raw.githubusercontent.com/ooni/blocking-fingerprints/main/ . Parsing and validation are
// the fastpath's (parseFingerprintCsv: every row or nothing), the swap is the fastpath store's
// (both _tmp tables filled and checked, then one EXCHANGE of both pairs), and the running fastpath
// is told to reload — it would also notice by itself within FASTPATH_FINGERPRINTS_POLL_S.

const KINDS = ["dns", "http"] as const;

function locate(source: string, kind: FingerprintKind): string {
  const name = `fingerprints_${kind}.csv`;
  if (isUrl(source)) return new URL(name, source.endsWith("/") ? source : `${source}/`).toString();
  return path.join(source, name);
}

async function readText(where: string, services: Services, signal?: AbortSignal): Promise<string> {
  const cfg = services.config.updaters;
  const limits = { timeoutMs: cfg.httpTimeoutMs, maxBytes: cfg.maxDownloadBytes, signal };
  let bytes: Buffer;
  if (isUrl(where)) {
    bytes = await fetchBytes(where, limits);
  } else {
    try {
      bytes = await readFile(where);
    } catch (err) {
      throw new UpdateError(`cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  bytes = await gunzipIfNeeded(bytes, limits.maxBytes, isUrl(where) ? redactUrl(where) : where);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UpdateError(`${isUrl(where) ? redactUrl(where) : where} is not valid UTF-8`);
  }
}

/** Both lists, parsed and checked: non-empty, and every name once (the tables are keyed by name). */
export function parseFingerprintTexts(texts: Record<FingerprintKind, string>): Record<FingerprintKind, Fingerprint[]> {
  const out = {} as Record<FingerprintKind, Fingerprint[]>;
  for (const kind of KINDS) {
    let list: Fingerprint[];
    try {
      list = parseFingerprintCsv(kind, texts[kind]);
    } catch (err) {
      throw new UpdateError((err as Error).message);
    }
    if (list.length === 0) throw new UpdateError(`fingerprints_${kind}.csv has no fingerprints`);
    const seen = new Set<string>();
    for (const fp of list) {
      if (seen.has(fp.name)) throw new UpdateError(`fingerprints_${kind}.csv: fingerprint name "${fp.name}" appears twice`);
      seen.add(fp.name);
    }
    out[kind] = list;
  }
  return out;
}

export async function updateFingerprints(services: Services, opts: UpdateOptions = {}): Promise<UpdateResult> {
  const cfg = services.config.updaters;
  const source = opts.source ?? cfg.fingerprintsSource;
  if (!source) throw new UpdateError("no source: set FINGERPRINTS_SOURCE (a directory or base URL with fingerprints_{dns,http}.csv) or pass --source");
  const texts = {
    dns: await readText(locate(source, "dns"), services, opts.signal),
    http: await readText(locate(source, "http"), services, opts.signal),
  };
  const lists = parseFingerprintTexts(texts);
  const total = lists.dns.length + lists.http.length;
  const shown = isUrl(source) ? redactUrl(source) : source;
  if (opts.dryRun) {
    return { updater: "fingerprints", rows: total, previousRows: null, summary: `dry run: ${lists.dns.length} DNS and ${lists.http.length} HTTP fingerprints valid in ${shown}`, warnings: [], tables: {} };
  }
  const previous = {
    dns: await tableRowCount(services.db, "fingerprints_dns", true),
    http: await tableRowCount(services.db, "fingerprints_http", true),
  };
  const ratio = opts.force ? 0 : cfg.minKeepRatio;
  for (const kind of KINDS) {
    if (ratio > 0 && previous[kind] > 0 && lists[kind].length < previous[kind] * ratio) {
      throw new UpdateError(
        `refusing to shrink fingerprints_${kind} from ${previous[kind]} to ${lists[kind].length} rows (below UPDATER_MIN_KEEP_RATIO=${ratio}); ` +
          "if this is intended, run the update with --force",
      );
    }
  }
  opts.signal?.throwIfAborted();
  await new FastpathStore(services.db).replaceFingerprints(lists);
  const warnings: string[] = [];
  if (services.fastpath) {
    await services.fastpath.reloadFingerprints().catch((err: unknown) => {
      warnings.push(`the running fastpath could not reload yet (${(err as Error).message}); it retries on its own`);
    });
  }
  return {
    updater: "fingerprints",
    rows: total,
    previousRows: previous.dns + previous.http,
    summary: `fingerprints: ${lists.dns.length} DNS and ${lists.http.length} HTTP from ${shown}, was ${previous.dns} and ${previous.http}`,
    warnings,
    tables: { fingerprints_dns: lists.dns.length, fingerprints_http: lists.http.length },
  };
}
