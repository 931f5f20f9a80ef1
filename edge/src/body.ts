// Reading request bodies with a ceiling: by Content-Length before reading anything, then by counting
// what actually arrives (chunked bodies carry no length).

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

export function declaredTooLarge(req: Request, limit: number): boolean {
  const declared = req.headers.get("content-length");
  return declared !== null && Number(declared) > limit;
}

/** The whole body in memory (for retries on another helper); throws BodyTooLarge past `limit`. */
export async function readBounded(req: Request, limit: number): Promise<ArrayBuffer | null> {
  if (req.body === null) return null;
  if (declaredTooLarge(req, limit)) throw new BodyTooLarge(limit);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) {
    const only = chunks[0]!;
    return only.byteOffset === 0 && only.byteLength === only.buffer.byteLength ? (only.buffer as ArrayBuffer) : only.slice().buffer;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out.buffer;
}

/** A pass-through stream that fails with BodyTooLarge once more than `limit` bytes went through. */
export function limitStream(body: ReadableStream<Uint8Array>, limit: number, onTooLarge: () => void): ReadableStream<Uint8Array> {
  let total = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > limit) {
          onTooLarge();
          controller.error(new BodyTooLarge(limit));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}
