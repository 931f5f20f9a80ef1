import { Worker } from "node:worker_threads";
import { threadSource } from "../../thread-source";
import { Overloaded } from "../overload";
import { digestSubmission, type Digest, type DigestRefusal } from "./digest";
import type { FromParseThread, ToParseThread } from "./protocol";

// Where submission bodies are parsed. Small ones (every real measurement we have seen: the corpus's
// largest is 571 KB) on the event loop, which is cheaper than a thread hop; larger ones on one
// parse thread, one at a time. A body built to be expensive — a 46 KB gzip that decodes to 48 MB of
// `[],` took the event loop for 5.8 s and the origin from 370 MB to 1.55 GB — is counted on that
// thread before it is parsed (digest.ts: at most MAX_JSON_VALUES values) and refused with a 413, so
// it costs one thread a linear scan, never the event loop. A thread that parsed a large body is
// replaced afterwards, so that its heap goes back to the system. The thread's heap cap is only a
// backstop: on Node 20 a worker that reaches it can take the whole process down (seen while writing
// this, in a GC task), which is why the value count keeps parses far below it. Bodies waiting for
// the thread are bounded in bytes; past that, new ones are shed with a 503 (the probe keeps the
// measurement and retries later).

export interface ParsePoolOptions {
  /** Bodies up to this many bytes are parsed on the event loop. */
  inlineBytes: number;
  /** Old-generation heap of the parse thread, MB (Worker resourceLimits). */
  heapMb: number;
  /** Bytes queued for or in the parse thread beyond which a new body is refused as overload. */
  maxQueuedBytes: number;
  /** A thread that parsed a body at least this large is replaced afterwards. */
  recycleAfterBytes: number;
}

export const DEFAULT_PARSE_POOL: ParsePoolOptions = {
  inlineBytes: 256 * 1024,
  heapMb: 512,
  maxQueuedBytes: 64 * 1024 * 1024,
  recycleAfterBytes: 4 * 1024 * 1024,
};

/** Too much parsing waiting already: a 503 with Retry-After. */
export class ParseOverloaded extends Overloaded {
  constructor(readonly queuedBytes: number) {
    super("parse_queue", `parse queue holds ${queuedBytes} bytes`);
  }
}

/** The parse thread ran out of memory on this body: it is refused (413). */
export class ParseTooCostly extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseTooCostly";
  }
}

interface Job {
  id: number;
  bytes: Uint8Array;
  /** bytes.byteLength, kept: the buffer is detached once moved to the thread. */
  size: number;
  resolve(d: Digest | DigestRefusal): void;
  reject(err: Error): void;
}

export class ParsePool {
  private worker: Worker | null = null;
  private running: Job | null = null;
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private nextId = 1;
  /** Threads that died (out of memory or crash); for tests and logs. */
  deaths = 0;
  /** Bodies parsed on the thread. */
  offloaded = 0;

  constructor(private readonly opts: ParsePoolOptions = DEFAULT_PARSE_POOL) {}

  async digest(bytes: Uint8Array): Promise<Digest | DigestRefusal> {
    if (bytes.byteLength <= this.opts.inlineBytes) return digestSubmission(bytes);
    if (this.queuedBytes > 0 && this.queuedBytes + bytes.byteLength > this.opts.maxQueuedBytes) {
      throw new ParseOverloaded(this.queuedBytes);
    }
    // A copy of exactly these bytes is moved to the thread (the caller keeps its own: they are
    // what gets stored).
    const copy = new Uint8Array(bytes);
    const size = copy.byteLength; // copy.byteLength is 0 once the buffer moved to the thread
    this.queuedBytes += size;
    try {
      return await new Promise<Digest | DigestRefusal>((resolve, reject) => {
        this.queue.push({ id: this.nextId++, bytes: copy, size, resolve, reject });
        this.dispatch();
      });
    } finally {
      this.queuedBytes -= size;
    }
  }

  /** Bytes waiting for or in the parse thread right now. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.reject(new ParseOverloaded(0));
    const w = this.worker;
    this.worker = null;
    this.running?.reject(new ParseOverloaded(0));
    this.running = null;
    await w?.terminate();
  }

  private dispatch(): void {
    if (this.running || this.queue.length === 0) return;
    const job = this.queue.shift()!;
    this.running = job;
    const worker = this.worker ?? this.spawn();
    worker.ref();
    this.offloaded++;
    worker.postMessage({ id: job.id, bytes: job.bytes } satisfies ToParseThread, [job.bytes.buffer as ArrayBuffer]);
  }

  private spawn(): Worker {
    const { source, eval: isEval } = threadSource(new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url));
    const worker = new Worker(source, {
      eval: isEval,
      name: "intake-parse",
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb, maxYoungGenerationSizeMb: 32 },
    });
    this.worker = worker;
    let failure: Error | null = null;
    worker.on("message", (msg: FromParseThread) => {
      if (msg.id === undefined) return; // ready
      const job = this.running;
      if (!job || job.id !== msg.id) return;
      this.running = null;
      job.resolve(msg.result);
      if (job.size >= this.opts.recycleAfterBytes) {
        // Its heap grew for this body; a new thread starts small.
        this.worker = null;
        void worker.terminate();
      } else {
        worker.unref();
      }
      this.dispatch();
    });
    worker.on("error", (err) => (failure = err));
    worker.on("exit", () => {
      // A recycled or closed thread exits with no job of its own running: then nothing to do.
      if (this.worker !== worker) return;
      this.worker = null;
      const job = this.running;
      if (!job) return;
      this.running = null;
      this.deaths++;
      const oom = (failure as NodeJS.ErrnoException | null)?.code === "ERR_WORKER_OUT_OF_MEMORY";
      // Out of memory is this body's doing (413); any other death is ours, and a 503 keeps the
      // measurement on the probe for a later attempt.
      job.reject(
        oom
          ? new ParseTooCostly("parsing this body needs more memory than a submission may use")
          : new Overloaded("parse_thread", `parse thread failed: ${failure?.message ?? "exited"}`),
      );
      this.dispatch();
    });
    return worker;
  }
}
