import { readFile } from "node:fs/promises";
import { Reader } from "maxmind";
import type { Response } from "maxmind";
import { DecodeCache } from "./decode-cache";

// Every MaxMind DB ends with a metadata section introduced by this marker (spec: within the last
// 128 KiB). Checking for it first turns "Unknown type 111 at offset 1" into a useful message.
const METADATA_MARKER = Buffer.from("\xab\xcd\xefMaxMind.com", "latin1");
const METADATA_MAX_SIZE = 128 * 1024;
const DATA_SECTION_SEPARATOR = 16;

/**
 * Reads and fully parses one .mmdb file into a fresh Reader. The caller swaps it in only after
 * this resolves, so a file caught mid-write or corrupt never replaces a working reader.
 * Errors always name the file.
 */
export async function loadMmdb<T extends Response>(path: string, label: string): Promise<Reader<T>> {
  const fail = (why: string, cause?: unknown): Error =>
    new Error(`GeoIP: cannot open ${label} database ${path}: ${why}`, cause === undefined ? undefined : { cause });

  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err), err);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    throw fail("file is gzip-compressed; decompress it first");
  }
  if (buf.lastIndexOf(METADATA_MARKER) < Math.max(0, buf.length - METADATA_MAX_SIZE)) {
    throw fail("not a MaxMind DB (.mmdb) file: metadata marker not found");
  }

  let reader: Reader<T>;
  try {
    reader = new Reader<T>(buf, { cache: new DecodeCache() });
  } catch (err) {
    throw fail(`invalid MaxMind DB: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const md = reader.metadata;
  if (md.ipVersion !== 4 && md.ipVersion !== 6) throw fail(`unsupported ip_version ${md.ipVersion}`);
  if (![24, 28, 32].includes(md.recordSize)) throw fail(`unsupported record_size ${md.recordSize}`);
  if (md.searchTreeSize + DATA_SECTION_SEPARATOR > buf.length) throw fail("truncated search tree");
  try {
    // A truncated data section only shows up when a record is decoded; probe both families.
    reader.get("0.0.0.0");
    if (md.ipVersion === 6) reader.get("::");
  } catch (err) {
    throw fail(`lookup probe failed: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  return reader;
}
