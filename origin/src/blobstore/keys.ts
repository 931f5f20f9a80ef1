import { BlobStoreError } from "./types";
import type { ByteRange } from "./types";

export const MAX_KEY_BYTES = 1024;

// Cc covers C0, DEL and C1 controls (NUL included); Cs in a `u` regex only matches *lone*
// surrogates, which cannot be encoded as UTF-8 and would silently alias to U+FFFD.
const FORBIDDEN_CHARS = /[\p{Cc}\p{Cs}\\]/u;

const utf8 = new TextEncoder();

function describe(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}

function invalid(what: string, value: string, why: string): never {
  throw new BlobStoreError("invalid_key", `invalid ${what} ${describe(value)}: ${why}`);
}

function checkCommon(what: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new BlobStoreError("invalid_key", `invalid ${what}: expected a string, got ${typeof value}`);
  }
  if (utf8.encode(value).length > MAX_KEY_BYTES) invalid(what, value, `longer than ${MAX_KEY_BYTES} bytes`);
  if (value.startsWith("/")) invalid(what, value, "must be relative (no leading '/')");
  if (FORBIDDEN_CHARS.test(value)) invalid(what, value, "contains a control character, lone surrogate or backslash");
}

function checkSegment(what: string, value: string, segment: string): void {
  if (segment === "") invalid(what, value, "contains an empty segment");
  if (segment === "." || segment === "..") invalid(what, value, `contains a '${segment}' segment`);
}

/**
 * The one key rule set every adapter enforces, so a key valid on one backend is valid on all and
 * can never be turned into a path outside the store (local) or an ambiguous URL (S3).
 */
export function assertValidKey(key: unknown): asserts key is string {
  checkCommon("key", key);
  if (key === "") invalid("key", key, "must not be empty");
  for (const segment of key.split("/")) checkSegment("key", key, segment);
}

/** Non-throwing twin of assertValidKey, for filtering names found in a listing. */
export function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Prefixes for `list` are not folder boundaries: "" and "raw/" and "raw/2024010" are all fine.
 * Every complete segment (followed by '/') obeys the key rules; the trailing partial segment only
 * has to obey the character rules, because "." or ".." there still prefix valid names like ".x".
 */
export function assertValidPrefix(prefix: unknown): asserts prefix is string {
  checkCommon("prefix", prefix);
  const segments = prefix.split("/");
  segments.pop();
  for (const segment of segments) checkSegment("prefix", prefix, segment);
}

/** A malformed range is a programming error, not a store condition, hence RangeError. */
export function assertValidRange(range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`invalid range offset ${String(offset)}: must be an integer ≥ 0`);
  }
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new RangeError(`invalid range length ${String(length)}: must be an integer ≥ 1`);
  }
}

/** S3 orders keys by UTF-8 bytes; JS string comparison (UTF-16 units) differs above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
