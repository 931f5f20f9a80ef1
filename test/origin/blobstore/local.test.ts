import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobStoreError, LocalBlobStore, createBlobStore } from "../../../origin/src/blobstore/index";
import { runBlobStoreContract } from "./contract";

const enc = new TextEncoder();

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "blobstore-local-"));
}

/** Every path under dir, relative, files and directories alike. */
async function allEntries(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

async function rejection(p: Promise<unknown>): Promise<BlobStoreError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BlobStoreError);
  return err as BlobStoreError;
}

runBlobStoreContract("local", async () => {
  const dir = await tempDir();
  return {
    store: new LocalBlobStore(dir),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describe("LocalBlobStore specifics", () => {
  let parent: string;
  let root: string;
  let store: LocalBlobStore;

  beforeEach(async () => {
    parent = await tempDir();
    root = path.join(parent, "root");
    store = new LocalBlobStore(root);
  });

  afterEach(async () => {
    await chmod(root, 0o755).catch(() => undefined);
    await rm(parent, { recursive: true, force: true });
  });

  it("describes itself with the absolute root", () => {
    expect(store.description).toBe(`local:${root}`);
    expect(createBlobStore({ kind: "local", dir: root }).description).toBe(`local:${root}`);
  });

  it("creates the root on first put and leaves no temp files behind", async () => {
    await store.put("a/b/c.bin", enc.encode("one"));
    await store.put("a/b/c.bin", enc.encode("two"));
    await store.put("top", enc.encode("x"));
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.put("a/race", enc.encode(String(i)))));
    expect(await allEntries(root)).toEqual(["a", "a/b", "a/b/c.bin", "a/race", "top"]);
  });

  it("cleans up the temp file when a put fails", async () => {
    await store.put("obj", enc.encode("x"));
    // "obj" is an object, so it cannot also be a folder.
    const err = await rejection(store.put("obj/child", enc.encode("y")));
    expect(err.code).toBe("io");
    expect(err.message).toMatch(/conflicts with an existing key/);
    await store.put("dir/child", enc.encode("y"));
    const err2 = await rejection(store.put("dir", enc.encode("z")));
    expect(err2.code).toBe("io");
    expect(await allEntries(root)).toEqual(["dir", "dir/child", "obj"]);
  });

  it("treats a folder of other keys as no object", async () => {
    await store.put("f/inner", enc.encode("x"));
    expect(await store.get("f")).toBeNull();
    expect(await store.get("f", { offset: 0, length: 1 })).toBeNull();
    expect(await store.head("f")).toBeNull();
    await store.delete("f");
    expect(await store.get("f/inner")).toEqual(enc.encode("x"));
  });

  it("prunes directories emptied by delete, but never the root", async () => {
    await store.put("p/q/r", enc.encode("x"));
    await store.put("p/keep", enc.encode("x"));
    await store.delete("p/q/r");
    expect(await allEntries(root)).toEqual(["p", "p/keep"]);
    await store.delete("p/keep");
    expect(await allEntries(root)).toEqual([]);
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it("never lets a key escape the root", async () => {
    await writeFile(path.join(parent, "secret"), "top secret");
    await store.put("inside", enc.encode("x"));
    for (const key of ["../secret", "a/../../secret", "./../secret", "/etc/passwd", "..", "a\\..\\..\\secret"]) {
      expect((await rejection(store.get(key))).code).toBe("invalid_key");
      expect((await rejection(store.put(key, enc.encode("pwned")))).code).toBe("invalid_key");
      expect((await rejection(store.delete(key))).code).toBe("invalid_key");
    }
    expect(() => store.pathFor("../secret")).toThrow(BlobStoreError);
    expect(store.pathFor("a/b")).toBe(path.join(root, "a", "b"));
    expect(await allEntries(parent)).toEqual(["root", "root/inside", "secret"]);
  });

  it("does not follow symlinks planted in the store", async () => {
    await writeFile(path.join(parent, "secret"), "top secret");
    await mkdir(root, { recursive: true });
    await symlink(path.join(parent, "secret"), path.join(root, "link"));
    await symlink(parent, path.join(root, "dirlink"));
    expect(await store.get("link")).toBeNull();
    expect(await store.head("link")).toBeNull();
    const listed: string[] = [];
    for await (const info of store.list("")) listed.push(info.key);
    expect(listed).toEqual([]);
  });

  it("hides temp files left behind by a crash", async () => {
    await store.put("sub/real", enc.encode("x"));
    await writeFile(path.join(root, "sub", "\u0001blobtmp-deadbeef"), "partial");
    const listed: string[] = [];
    for await (const info of store.list("")) listed.push(info.key);
    expect(listed).toEqual(["sub/real"]);
    expect((await rejection(store.get("sub/\u0001blobtmp-deadbeef"))).code).toBe("invalid_key");
  });

  it("check() creates a missing root", async () => {
    const nested = new LocalBlobStore(path.join(parent, "x", "y", "z"));
    await nested.check();
    expect((await stat(path.join(parent, "x", "y", "z"))).isDirectory()).toBe(true);
    expect(await allEntries(path.join(parent, "x", "y", "z"))).toEqual([]);
  });

  it("check() fails clearly when the root cannot be created", async () => {
    await writeFile(path.join(parent, "file"), "not a directory");
    const under = new LocalBlobStore(path.join(parent, "file", "root"));
    const err = await rejection(under.check());
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain(path.join(parent, "file", "root"));
    expect(err.message).toMatch(/cannot be created \(ENOTDIR\)/);

    const isFile = new LocalBlobStore(path.join(parent, "file"));
    const err2 = await rejection(isFile.check());
    expect(err2.code).toBe("unavailable");
    expect(err2.message).toBe(`local blob store root ${path.join(parent, "file")} is not a directory`);
  });

  it("accepts a root that is a symlink to a directory", async () => {
    await mkdir(path.join(parent, "real"));
    await symlink(path.join(parent, "real"), root);
    await store.check();
    await store.put("k", enc.encode("v"));
    expect(await allEntries(path.join(parent, "real"))).toEqual(["k"]);
  });

  it.skipIf(process.getuid?.() === 0)("check() fails clearly when the root is not writable", async () => {
    await mkdir(root, { recursive: true });
    await chmod(root, 0o555);
    const err = await rejection(store.check());
    expect(err.code).toBe("unavailable");
    expect(err.message).toMatch(/is not writable \(EACCES\)/);
  });
});
