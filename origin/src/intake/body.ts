import { createGunzip } from "node:zlib";
import { decompress as zstdDecompress } from "@mongodb-js/zstd";
import { IntakeError } from "./errors";
import { JsonValueCounter, MAX_JSON_VALUES } from "./parse/digest";
import { ZstdFormatError, zstdOutputBound } from "./zstd-bound";

// A submission body is read with a hard cap (never buffered beyond the limit), then decoded per
// Content-Encoding with the same cap on the decoded size: 413 beyond it, 400 for a broken stream,
// 415 for an encoding we do not speak. The limit is MAX_SUBMISSION_BYTES.

// Large output chunks: each chunk is a round trip through the event loop (16 KiB by default, ~3,000
// of them for a 48 MB body), which slowed every other request while a bomb decoded.
const GUNZIP_CHUNK_BYTES = 1024 * 1024;

/**
 * gunzip with the size cap, stopping early — before the rest is even decompressed — once the JSON
 * decoded so far holds more values than a submission may (parse/digest.ts): a 47 KB gzip of
 * `[],`×16M is refused after ~6 MB instead of being expanded to 48 MB, copied and scanned again.
 * (The values inside a string `content` are counted later, on the parse thread.)
 */
function gunzipCounted(raw: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
    const counter = new JsonValueCounter();
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (err: IntakeError) => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(err);
    };
    z.on("data", (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > limit) return fail(tooLarge(limit));
      if (counter.feed(chunk)) {
        return fail(new IntakeError(413, "request body too large", { message: `request body holds more than ${MAX_JSON_VALUES} JSON values` }));
      }
      chunks.push(chunk);
    });
    z.on("error", () => fail(new IntakeError(400, "Incorrect format", { message: "request body is not a valid gzip stream" })));
    z.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, total));
    });
    z.end(raw);
  });
}

export function tooLarge(limit: number) {
  return new IntakeError(413, "request body too large", { limit_bytes: limit });
}

/** Reads at most `limit` bytes of the body; more is a 413 (checked on Content-Length first). */
export async function readBodyBounded(req: Request, limit: number): Promise<Buffer> {
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) throw tooLarge(limit);
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        // Released, not cancelled: the refusal goes out once the rest is drained (http/drain-refused.ts).
        reader.releaseLock();
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof IntakeError) throw err;
    throw new IntakeError(400, "request body could not be read", { message: (err as Error).message });
  }
  return Buffer.concat(chunks, total);
}

export async function decodeContent(encodingHeader: string | undefined, raw: Buffer, limit: number): Promise<Buffer> {
  const encoding = (encodingHeader ?? "").trim().toLowerCase();
  if (encoding === "" || encoding === "identity") return raw;
  if (encoding === "gzip" || encoding === "x-gzip") return gunzipCounted(raw, limit);
  if (encoding === "zstd") {
    let bound: number;
    try {
      bound = zstdOutputBound(raw);
    } catch (err) {
      if (err instanceof ZstdFormatError) {
        throw new IntakeError(400, "Incorrect format", { message: `request body is not a valid zstd stream (${err.message})` });
      }
      throw err;
    }
    if (bound > limit) throw tooLarge(limit);
    let out: Buffer;
    try {
      out = await zstdDecompress(raw);
    } catch {
      throw new IntakeError(400, "Incorrect format", { message: "request body is not a valid zstd stream" });
    }
    if (out.length > limit) throw tooLarge(limit);
    return out;
  }
  throw new IntakeError(415, "unsupported content encoding", { encoding, supported: ["gzip", "zstd", "identity"] });
}
