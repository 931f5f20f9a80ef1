import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStoreError, S3BlobStore, createBlobStore } from "../../../origin/src/blobstore/index";
import type { S3BlobStoreOptions } from "../../../origin/src/blobstore/index";
import { runBlobStoreContract } from "./contract";
import { applyS3rverFixes } from "./s3rver-fixes";

const BUCKET = "test-bucket";
const enc = new TextEncoder();

let server: S3rver;
let dataDir: string;
let endpoint: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "blobstore-s3rver-"));
  server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dataDir,
    configureBuckets: [{ name: BUCKET }],
  });
  applyS3rverFixes(server);
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function options(overrides: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return {
    endpoint,
    bucket: BUCKET,
    prefix: `contract/${randomUUID()}`,
    region: "us-east-1",
    // s3rver only knows its built-in account; it does not verify SigV4 signatures.
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    forcePathStyle: true,
    ...overrides,
  };
}

async function rejection(p: Promise<unknown>): Promise<BlobStoreError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BlobStoreError);
  return err as BlobStoreError;
}

async function keysOf(store: S3BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

// Every test gets a fresh random prefix, which isolates it as well as a fresh bucket would.
runBlobStoreContract("s3 (s3rver, path style, prefixed)", async () => ({
  store: new S3BlobStore(options()),
  teardown: async () => undefined,
}));

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A throwaway HTTP server answering every request with the given status and body. */
async function fakeS3(status: number, body: string): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer((_req, res) => {
    res.writeHead(status, { "content-type": "application/xml" });
    res.end(body);
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

describe("S3BlobStore specifics", () => {
  it("describes itself without endpoint or credentials", () => {
    const store = new S3BlobStore(options({ prefix: "/some/prefix/", secretAccessKey: "hunter2" }));
    expect(store.description).toBe("s3://test-bucket/some/prefix");
    expect(new S3BlobStore(options({ prefix: "" })).description).toBe("s3://test-bucket");
    const viaFactory = createBlobStore({ kind: "s3", ...options({ prefix: "p" }) });
    expect(viaFactory.kind).toBe("s3");
    expect(viaFactory.description).not.toContain("hunter2");
  });

  it("stores keys under the prefix and strips it when listing", async () => {
    const id = randomUUID();
    const inner = new S3BlobStore(options({ prefix: `iso/${id}/p` }));
    const sibling = new S3BlobStore(options({ prefix: `iso/${id}/p2` }));
    const outer = new S3BlobStore(options({ prefix: "" }));
    await inner.put("x/y", enc.encode("inner"));
    await sibling.put("x/y", enc.encode("sibling"));
    expect(await keysOf(inner, "")).toEqual(["x/y"]);
    expect(await keysOf(outer, `iso/${id}/`)).toEqual([`iso/${id}/p/x/y`, `iso/${id}/p2/x/y`]);
    expect(await outer.get(`iso/${id}/p/x/y`)).toEqual(enc.encode("inner"));
    await inner.delete("x/y");
    expect(await sibling.get("x/y")).toEqual(enc.encode("sibling"));
  });

  it("reports an unreachable endpoint as unavailable, quickly", async () => {
    const port = await closedPort();
    const store = new S3BlobStore(options({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 1000 }));
    const started = Date.now();
    const ops = [() => store.check(), () => store.get("k"), () => store.head("k"), () => store.put("k", enc.encode("v")), () => store.delete("k")];
    for (const op of ops) {
      const err = await rejection(op());
      expect(err.code).toBe("unavailable");
      expect(err.message).toMatch(/ECONNREFUSED/);
    }
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("times out a server that never answers", async () => {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const { port } = srv.address() as net.AddressInfo;
    try {
      const store = new S3BlobStore(options({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 200 }));
      const started = Date.now();
      const err = await rejection(store.get("k"));
      expect(err.code).toBe("unavailable");
      expect(err.message).toMatch(/timed out/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it("maps 5xx to unavailable and other errors to io with the S3 error code", async () => {
    const slow = await fakeS3(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
    const denied = await fakeS3(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
    try {
      const a = await rejection(new S3BlobStore(options({ endpoint: slow.url })).get("k"));
      expect(a.code).toBe("unavailable");
      expect(a.message).toContain("503");
      expect(a.message).toContain("SlowDown");
      const b = await rejection(new S3BlobStore(options({ endpoint: denied.url })).put("k", enc.encode("v")));
      expect(b.code).toBe("io");
      expect(b.message).toContain("403");
      expect(b.message).toContain("AccessDenied");
      const c = await rejection(new S3BlobStore(options({ endpoint: denied.url })).check());
      expect(c.code).toBe("io");
    } finally {
      await slow.close();
      await denied.close();
    }
  });

  it("treats a missing bucket as an error, not as a missing key", async () => {
    const store = new S3BlobStore(options({ bucket: "no-such-bucket" }));
    const err = await rejection(store.get("k"));
    expect(err.code).toBe("io");
    expect(err.message).toContain("NoSuchBucket");
    expect((await rejection(store.check())).code).toBe("io");
  });

  it("rejects bad configuration up front", () => {
    expect(() => new S3BlobStore(options({ endpoint: "ftp://x" }))).toThrow(TypeError);
    expect(() => new S3BlobStore(options({ endpoint: "http://user:pw@host" }))).toThrow(TypeError);
    expect(() => new S3BlobStore(options({ bucket: "../etc" }))).toThrow(TypeError);
    expect(() => new S3BlobStore(options({ prefix: "a/../b" }))).toThrow(BlobStoreError);
    expect(() => new S3BlobStore(options({ timeoutMs: 0 }))).toThrow(TypeError);
  });

  it("sees every object whole right after its PUT (read-after-write, as S3; s3rver-fixes)", async () => {
    // Unpatched s3rver answers the PUT before its file stream has written the object: a HEAD right
    // after could see 0 bytes, which made the uploader refuse its own upload (found by
    // test/faults/blobstore-outage.test.ts under load).
    const store = new S3BlobStore(options());
    const sizes = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const body = new Uint8Array(500 + i * 37).fill(i % 251);
        await store.put(`raw/${i}.bin`, body);
        const [head, got] = await Promise.all([store.head(`raw/${i}.bin`), store.get(`raw/${i}.bin`)]);
        return { want: body.length, head: head?.size, got: got?.length };
      }),
    );
    for (const s of sizes) expect(s).toEqual({ want: s.want, head: s.want, got: s.want });
    // A large body makes the window wide enough to see every time (the store directly, no HTTP).
    const big = Buffer.alloc(48 * 1024 * 1024, 7);
    const put = await server.store.putObject({ bucket: BUCKET, key: "raw-big.bin", content: Readable.from([big]), size: big.length });
    const got = await server.store.getObject(BUCKET, "raw-big.bin");
    if (got?.content && "destroy" in got.content) got.content.destroy();
    expect({ put: put.size, stored: got?.size }).toEqual({ put: big.length, stored: big.length });
    // And the temp files never show up as objects.
    const keys: string[] = [];
    for await (const info of store.list("raw/")) keys.push(info.key);
    expect(keys.length).toBe(50);
  });
});
