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
  const bytes = await readStreamBounded(req.body, limit);
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
}

/**
 * A stream read whole, counting what arrives: past `limit` the stream is cancelled and BodyTooLarge
 * thrown. One chunk comes back as it is; several are joined once. Request bodies (readBounded) and
 * the origin's refusal answers (forward.ts) both go through here.
 */
export async function readStreamBounded(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
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
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export interface Upload {
  /** What goes to the origin: the client's body, counted. */
  stream: ReadableStream<Uint8Array>;
  /** Reads and discards what the client has not sent yet (up to the limit); never throws. */
  drain(): Promise<void>;
}

/**
 * The client's body on its way to the origin, failing with BodyTooLarge once more than `limit` bytes
 * went through. Pull-based over the source's reader rather than pipeThrough, so that every read,
 * error and cancel is ours to handle: when the origin connection drops mid-upload, pipeThrough's
 * internal pipe rejected as an uncaught error ("Network connection lost", "Can't read from request
 * stream after response has been sent"). When the upload to the origin stops early, the source is
 * not cancelled: drain() takes the rest from the client, so that the error answer reaches a client
 * that is still sending instead of a broken connection.
 */
export function countedUpload(body: ReadableStream<Uint8Array>, limit: number, onTooLarge: () => void): Upload {
  let total = 0;
  let over = false;
  const reader = body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        controller.error(err);
        return;
      }
      if (next.done) {
        controller.close();
        return;
      }
      total += next.value.byteLength;
      if (total > limit) {
        over = true;
        onTooLarge();
        controller.error(new BodyTooLarge(limit));
        await reader.cancel().catch(() => undefined);
        return;
      }
      controller.enqueue(next.value);
    },
  });
  return {
    stream,
    async drain() {
      try {
        while (!over) {
          const next = await reader.read();
          if (next.done) return;
          total += next.value.byteLength;
          if (total > limit) over = true;
        }
        await reader.cancel().catch(() => undefined);
      } catch {
        // the client went away: nothing left to take
      }
    },
  };
}
