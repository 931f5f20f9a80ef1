import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { compress } from "@mongodb-js/zstd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeContent, readBodyBounded } from "../../../origin/src/intake/body";
import { IntakeError } from "../../../origin/src/intake/errors";
import { ZstdFormatError, zstdOutputBound } from "../../../origin/src/intake/zstd-bound";

async function refusal(p: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(IntakeError);
    return { status: (err as IntakeError).status, error: (err as IntakeError).error };
  }
  throw new Error("expected a refusal");
}

describe("zstd output bound", () => {
  it("is never below the real decompressed size", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300_000 }), fc.integer({ min: 1, max: 19 }), async (data, level) => {
        const z = await compress(Buffer.from(data), level);
        expect(zstdOutputBound(z)).toBeGreaterThanOrEqual(data.length);
      }),
      { numRuns: 40 },
    );
  });

  it("sees a bomb for what it is without expanding it", async () => {
    const bomb = await compress(Buffer.alloc(64 * 1024 * 1024), 19); // 64 MiB of zeros, a few KiB compressed
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(zstdOutputBound(bomb)).toBeGreaterThanOrEqual(64 * 1024 * 1024);
  });

  it("walks concatenated and skippable frames", async () => {
    const a = await compress(Buffer.from("hello ".repeat(1000)));
    const b = await compress(Buffer.from(randomBytes(5000)));
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18]), Buffer.from([3, 0, 0, 0]), Buffer.from("abc")]);
    expect(zstdOutputBound(Buffer.concat([a, skippable, b]))).toBeGreaterThanOrEqual(11_000);
  });

  it.each([
    ["empty", Buffer.alloc(0)],
    ["not zstd", Buffer.from("{\"format\":\"json\"}")],
    ["truncated", Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04])],
    ["only a skippable frame", Buffer.from([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0])],
  ])("rejects %s", (_name, buf) => {
    expect(() => zstdOutputBound(buf)).toThrow(ZstdFormatError);
  });

  it("rejects arbitrary bytes without crashing or over-reading", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buf = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from(bytes)]);
        try {
          expect(zstdOutputBound(buf)).toBeGreaterThanOrEqual(0);
        } catch (err) {
          expect(err).toBeInstanceOf(ZstdFormatError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("content decoding", () => {
  const body = Buffer.from(JSON.stringify({ format: "json", content: { hello: "wörld" } }));

  it("passes identity through and decodes gzip and zstd to the same bytes", async () => {
    expect(await decodeContent(undefined, body, 1024)).toEqual(body);
    expect(await decodeContent("identity", body, 1024)).toEqual(body);
    expect(await decodeContent("gzip", gzipSync(body), 1024)).toEqual(body);
    expect(await decodeContent("x-gzip", gzipSync(body), 1024)).toEqual(body);
    expect(await decodeContent("zstd", await compress(body), 1024)).toEqual(body);
    expect(await decodeContent(" ZSTD ", await compress(body), 1024)).toEqual(body);
  });

  it("refuses bodies beyond the limit after decoding with 413, without inflating a bomb", async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x20);
    expect(await refusal(decodeContent("gzip", gzipSync(big), 1024 * 1024))).toEqual({ status: 413, error: "request body too large" });
    expect(await refusal(decodeContent("zstd", await compress(big), 1024 * 1024))).toEqual({ status: 413, error: "request body too large" });
  });

  it("refuses broken streams with 400 and unknown encodings with 415", async () => {
    expect((await refusal(decodeContent("gzip", Buffer.from("not gzip at all"), 1024))).status).toBe(400);
    expect((await refusal(decodeContent("gzip", gzipSync(body).subarray(0, 20), 1024))).status).toBe(400);
    expect((await refusal(decodeContent("zstd", Buffer.from("not zstd"), 1024))).status).toBe(400);
    const z = await compress(Buffer.from("abc".repeat(5000)));
    expect((await refusal(decodeContent("zstd", z.subarray(0, z.length - 2), 100_000))).status).toBe(400);
    // A block whose compressed data is garbage: the walk passes, the decompressor refuses.
    const garbage = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]), Buffer.from([(64 << 3) | 0b101, 0, 0]), Buffer.alloc(64, 0xff)]);
    expect((await refusal(decodeContent("zstd", garbage, 1_000_000))).status).toBe(400);
    expect((await refusal(decodeContent("br", body, 1024))).status).toBe(415);
    expect((await refusal(decodeContent("gzip, zstd", body, 1024))).status).toBe(415);
  });

  it("reads a body up to the limit and no further", async () => {
    const req = (b: string | Buffer, headers: Record<string, string> = {}) => new Request("http://x/", { method: "POST", body: b, headers });
    expect(await readBodyBounded(req(body), body.length)).toEqual(body);
    expect((await refusal(readBodyBounded(req(body), body.length - 1))).status).toBe(413);
    // A lying Content-Length is caught by counting too; a declared oversize is refused before reading.
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < 100; i++) ctrl.enqueue(new Uint8Array(1000));
        ctrl.close();
      },
    });
    const streamed = new Request("http://x/", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect((await refusal(readBodyBounded(streamed, 50_000))).status).toBe(413);
    expect((await refusal(readBodyBounded(req("x", { "content-length": "999999" }), 1000))).status).toBe(413);
  });
});
