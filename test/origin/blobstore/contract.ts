// One behavioural contract for every BlobStore adapter: each adapter's test file calls
// runBlobStoreContract with a factory, so local and S3 are held to exactly the same semantics.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobStoreError, compareKeys } from "../../../origin/src/blobstore/index";
import type { BlobInfo, BlobStore } from "../../../origin/src/blobstore/index";

export interface ContractFixture {
  store: BlobStore;
  teardown: () => Promise<void>;
}

const enc = new TextEncoder();

function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

async function collect(iter: AsyncIterable<BlobInfo>): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for await (const info of iter) out.push(info);
  return out;
}

async function keysOf(store: BlobStore, prefix: string): Promise<string[]> {
  return (await collect(store.list(prefix))).map((i) => i.key);
}

function sorted(keys: string[]): string[] {
  return [...keys].sort(compareKeys);
}

async function putAll(store: BlobStore, keys: string[], concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await store.put(key, enc.encode(key));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function expectCode(p: Promise<unknown>, code: BlobStoreError["code"]): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected a rejection").toBeInstanceOf(BlobStoreError);
  expect((err as BlobStoreError).code).toBe(code);
}

export function runBlobStoreContract(name: string, setup: () => Promise<ContractFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: ContractFixture | undefined;
    let store: BlobStore;

    beforeEach(async () => {
      fixture = await setup();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture?.teardown();
      fixture = undefined;
    });

    it("check() succeeds", async () => {
      await expect(store.check()).resolves.toBeUndefined();
      expect(store.description).toMatch(store.kind === "local" ? /^local:\// : /^s3:\/\//);
    });

    it("round-trips every byte value", async () => {
      const body = allBytes();
      await store.put("bin/all-bytes", body);
      expect(await store.get("bin/all-bytes")).toEqual(body);
    });

    it("round-trips an empty object", async () => {
      await store.put("empty", new Uint8Array(0));
      expect(await store.get("empty")).toEqual(new Uint8Array(0));
      expect((await store.head("empty"))?.size).toBe(0);
    });

    it("overwrite replaces the whole object", async () => {
      await store.put("k", enc.encode("a much longer first value"));
      await store.put("k", enc.encode("short"), { contentType: "text/plain" });
      expect(await store.get("k")).toEqual(enc.encode("short"));
      expect((await store.head("k"))?.size).toBe(5);
    });

    it("missing keys: get and head return null", async () => {
      expect(await store.get("nope/missing")).toBeNull();
      expect(await store.get("nope/missing", { offset: 0, length: 10 })).toBeNull();
      expect(await store.head("nope/missing")).toBeNull();
    });

    it("head reports size, and an etag that changes on overwrite", async () => {
      await store.put("h/obj", allBytes());
      const info = await store.head("h/obj");
      expect(info).not.toBeNull();
      expect(info!.key).toBe("h/obj");
      expect(info!.size).toBe(256);
      if (info!.lastModified !== undefined) expect(info!.lastModified).toBeInstanceOf(Date);
      await store.put("h/obj", enc.encode("different"));
      const after = await store.head("h/obj");
      expect(after!.size).toBe(9);
      if (info!.etag !== undefined) expect(after!.etag).not.toBe(info!.etag);
    });

    it("ranges: start, middle, end, single bytes, past end, at/after end", async () => {
      const body = allBytes();
      await store.put("r", body);
      expect(await store.get("r", { offset: 0, length: 10 })).toEqual(body.slice(0, 10));
      expect(await store.get("r", { offset: 0, length: 1 })).toEqual(body.slice(0, 1));
      expect(await store.get("r", { offset: 100, length: 50 })).toEqual(body.slice(100, 150));
      expect(await store.get("r", { offset: 250, length: 6 })).toEqual(body.slice(250));
      expect(await store.get("r", { offset: 255, length: 1 })).toEqual(body.slice(255));
      expect(await store.get("r", { offset: 0, length: 256 })).toEqual(body);
      expect(await store.get("r", { offset: 250, length: 100 })).toEqual(body.slice(250));
      expect(await store.get("r", { offset: 0, length: 10_000 })).toEqual(body);
      expect(await store.get("r", { offset: 256, length: 1 })).toEqual(new Uint8Array(0));
      expect(await store.get("r", { offset: 10_000, length: 5 })).toEqual(new Uint8Array(0));
    });

    it("ranges on an empty object are empty", async () => {
      await store.put("e", new Uint8Array(0));
      expect(await store.get("e", { offset: 0, length: 5 })).toEqual(new Uint8Array(0));
    });

    it("rejects malformed ranges", async () => {
      await store.put("r", allBytes());
      await expect(store.get("r", { offset: -1, length: 1 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.get("r", { offset: 0, length: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.get("r", { offset: 1.5, length: 1 })).rejects.toBeInstanceOf(RangeError);
    });

    it("lists by prefix in key order, including prefixes that are not folder boundaries", async () => {
      const keys = [
        "raw/20240101/AT/b.jsonl",
        "raw/20240101/AT/a.jsonl",
        "raw/20240101/IT/a.jsonl",
        "raw/20240102/a.jsonl",
        "raw/20240110/a.jsonl",
        "raw/2024011",
        "raw-other/x",
        "rawx",
        "a/b",
        "a-c",
        "a0",
        "b.txt",
      ];
      await putAll(store, keys);

      expect(await keysOf(store, "")).toEqual(sorted(keys));
      // '-' (0x2d) < '/' (0x2f) < '0' (0x30): a flat sort of full keys, not folder-first.
      expect(await keysOf(store, "a")).toEqual(["a-c", "a/b", "a0"]);
      expect(await keysOf(store, "raw/")).toEqual(sorted(keys.filter((k) => k.startsWith("raw/"))));
      expect(await keysOf(store, "raw/2024010")).toEqual([
        "raw/20240101/AT/a.jsonl",
        "raw/20240101/AT/b.jsonl",
        "raw/20240101/IT/a.jsonl",
        "raw/20240102/a.jsonl",
      ]);
      expect(await keysOf(store, "raw/20240101/")).toEqual([
        "raw/20240101/AT/a.jsonl",
        "raw/20240101/AT/b.jsonl",
        "raw/20240101/IT/a.jsonl",
      ]);
      expect(await keysOf(store, "raw/2024011")).toEqual(["raw/2024011", "raw/20240110/a.jsonl"]);
      expect(await keysOf(store, "raw")).toEqual(sorted(keys.filter((k) => k.startsWith("raw"))));
      expect(await keysOf(store, "b.txt")).toEqual(["b.txt"]);
      expect(await keysOf(store, "zzz/")).toEqual([]);
      expect(await keysOf(store, "raw/2024013")).toEqual([]);
    });

    it("list reports sizes", async () => {
      await store.put("s/one", new Uint8Array(1));
      await store.put("s/three", new Uint8Array(3));
      const infos = await collect(store.list("s/"));
      expect(infos.map((i) => [i.key, i.size])).toEqual([
        ["s/one", 1],
        ["s/three", 3],
      ]);
    });

    it("keys with spaces, reserved URL characters, markup and non-ASCII round-trip and list", async () => {
      const keys = [
        "odd/sp ace+plus%20.txt",
        "odd/q?x=1&y=2#frag",
        "odd/<tag attr=\"v\">'&amp;'</tag>",
        "odd/(paren)!*~@$,;:[]{}|^`",
        "odd/ümlaut/日本語.bin",
        // UTF-8 byte order puts U+FF61 before U+1F600; UTF-16 code-unit order would not.
        "odd/\uFF61",
        "odd/😀",
      ];
      for (const key of keys) await store.put(key, enc.encode(key));
      for (const key of keys) expect(new TextDecoder().decode((await store.get(key))!)).toBe(key);
      expect(await keysOf(store, "odd/")).toEqual(sorted(keys));
      expect(sorted(keys).indexOf("odd/\uFF61")).toBeLessThan(sorted(keys).indexOf("odd/😀"));
    });

    it("paginates listings past 1000 keys", async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `many/k${String(i).padStart(4, "0")}`);
      await putAll(store, [...keys].reverse());
      await store.put("manx", enc.encode("outside"));
      const listed = await keysOf(store, "many/");
      expect(listed.length).toBe(1100);
      expect(listed).toEqual(keys);
      expect(await keysOf(store, "many/k10")).toEqual(keys.slice(1000));
    });

    it("delete removes the key and is idempotent", async () => {
      await store.put("d/x/y", enc.encode("1"));
      await store.put("d/z", enc.encode("2"));
      await store.delete("d/x/y");
      expect(await store.get("d/x/y")).toBeNull();
      expect(await store.head("d/x/y")).toBeNull();
      expect(await keysOf(store, "d/")).toEqual(["d/z"]);
      await expect(store.delete("d/x/y")).resolves.toBeUndefined();
      await expect(store.delete("never/existed")).resolves.toBeUndefined();
      // The pruned folder can be used again right away.
      await store.put("d/x/again", enc.encode("3"));
      expect(await keysOf(store, "d/")).toEqual(["d/x/again", "d/z"]);
    });

    it("rejects invalid keys for every operation", async () => {
      const bad = ["../x", "/abs", "a//b", "a/./b", "a/../b", "x/..", "a\u0000b", "", "a/", "a\\b", "tab\there", "\uD800", "k".repeat(1025)];
      for (const key of bad) {
        await expectCode(store.put(key, enc.encode("v")), "invalid_key");
        await expectCode(store.get(key), "invalid_key");
        await expectCode(store.head(key), "invalid_key");
        await expectCode(store.delete(key), "invalid_key");
      }
      for (const prefix of ["../", "/abs", "a//", "a/../", "\u0000"]) {
        await expectCode(collect(store.list(prefix)), "invalid_key");
      }
      // Nothing was written by the rejected puts.
      expect(await keysOf(store, "")).toEqual([]);
    });

    it("accepts keys at the 1024-byte limit", async () => {
      // Segments stay ≤ 240 bytes because file-backed stores (local, s3rver) map segments to file
      // names, which are limited to 255 bytes. 4×240 + 4 slashes + 30×2 = 1024.
      const key = [..."abcd"].map((c) => c.repeat(240)).join("/") + "/" + "é".repeat(30);
      expect(Buffer.byteLength(key)).toBe(1024);
      await store.put(key, enc.encode("v"));
      expect(await store.get(key)).toEqual(enc.encode("v"));
    });

    it("stores a 5 MB object", async () => {
      const size = 5 * 1024 * 1024;
      const body = new Uint8Array(size);
      for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >> 11)) & 0xff;
      await store.put("big/5mb.bin", body);
      expect((await store.head("big/5mb.bin"))?.size).toBe(size);
      const back = await store.get("big/5mb.bin");
      expect(back?.length).toBe(size);
      expect(Buffer.from(back!).equals(Buffer.from(body))).toBe(true);
      const window = await store.get("big/5mb.bin", { offset: 3_000_000, length: 70_000 });
      expect(Buffer.from(window!).equals(Buffer.from(body.subarray(3_000_000, 3_070_000)))).toBe(true);
    });

    it("concurrent puts to one key leave exactly one complete value", async () => {
      // Different lengths and fill bytes, so any interleaving or truncation is detectable.
      const values = Array.from({ length: 8 }, (_, i) => new Uint8Array((i + 1) * 40_000).fill(i + 1));
      for (let round = 0; round < 3; round++) {
        await Promise.all(values.map((v) => store.put("race/key", v)));
        const got = await store.get("race/key");
        expect(got).not.toBeNull();
        const match = values.find((v) => v.length === got!.length);
        expect(match, `no written value has length ${got!.length}`).toBeDefined();
        expect(Buffer.from(got!).equals(Buffer.from(match!))).toBe(true);
        expect((await store.head("race/key"))?.size).toBe(got!.length);
      }
      expect(await keysOf(store, "race/")).toEqual(["race/key"]);
    });
  });
}
