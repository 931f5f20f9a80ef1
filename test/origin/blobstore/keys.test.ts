import { describe, expect, it } from "vitest";
import { BlobStoreError, assertValidKey, assertValidPrefix, compareKeys, isValidKey } from "../../../origin/src/blobstore/index";

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(BlobStoreError);
    return (err as BlobStoreError).code;
  }
}

describe("assertValidKey", () => {
  it.each([
    "a",
    "raw/20240101/IT/file.jsonl.gz",
    ".hidden",
    "..dots",
    "a/...",
    "sp ace/ümlaut/😀",
    "x".repeat(1024),
    "é".repeat(512),
  ])("accepts %j", (key) => {
    expect(code(() => assertValidKey(key))).toBeUndefined();
    expect(isValidKey(key)).toBe(true);
  });

  it.each([
    ["", "empty"],
    ["/abs", "leading slash"],
    ["a//b", "empty segment"],
    ["a/", "trailing slash"],
    [".", "dot"],
    ["..", "dot-dot"],
    ["../x", "parent"],
    ["a/./b", "inner dot"],
    ["a/../b", "inner dot-dot"],
    ["a\u0000b", "NUL"],
    ["a\nb", "newline"],
    ["a\u007fb", "DEL"],
    ["a\u0085b", "C1 control"],
    ["a\\b", "backslash"],
    ["\uD83D", "lone surrogate"],
    ["x".repeat(1025), "too long"],
    ["é".repeat(513), "too long in bytes"],
  ])("rejects %j (%s)", (key) => {
    expect(code(() => assertValidKey(key))).toBe("invalid_key");
    expect(isValidKey(key)).toBe(false);
  });

  it("rejects non-strings", () => {
    expect(code(() => assertValidKey(42))).toBe("invalid_key");
    expect(code(() => assertValidKey(undefined))).toBe("invalid_key");
  });
});

describe("assertValidPrefix", () => {
  it.each(["", "raw/", "raw/2024010", "a", ".", "..", "a/..", "a/."])("accepts %j", (prefix) => {
    expect(code(() => assertValidPrefix(prefix))).toBeUndefined();
  });

  it.each(["/", "/raw", "a//", "../", "a/../", "./", "a\u0000", "a\\"])("rejects %j", (prefix) => {
    expect(code(() => assertValidPrefix(prefix))).toBe("invalid_key");
  });
});

describe("compareKeys", () => {
  it("orders by UTF-8 bytes, like S3", () => {
    expect(["a0", "a/b", "a-c", "a"].sort(compareKeys)).toEqual(["a", "a-c", "a/b", "a0"]);
    // UTF-16 would put the astral character first (0xD83D < 0xFF61).
    expect(["😀", "\uFF61"].sort(compareKeys)).toEqual(["\uFF61", "😀"]);
    expect(compareKeys("same", "same")).toBe(0);
  });
});
