import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

// A pool of long-lived Python workers (worker.py), each holding ooniauth-py's ServerState: the
// reference implementation of the protocol, used as it is rather than re-implemented here
// (docs/anonymous-credentials.md says why). One JSON line per request each way, one request at a
// time per worker (a proof check is ~40 ms of CPU: the pool is sized in cores). Requests wait in
// one bounded queue; a request that waits or runs longer than the timeout is answered
// AnonCredUnavailable (the caller then stores the measurement unverified rather than holding the
// probe), and a worker that overruns or dies is replaced, so one bad input can never take
// verification down for good.

const WORKER = path.join(import.meta.dirname, "worker.py");

/** The library refused the input: the name of its exception class, as the protocol defines them. */
export type ProtocolErrorKind = "DeserializationFailed" | "ProtocolError" | "CredentialError";

export class AnonCredError extends Error {
  override readonly name = "AnonCredError";
  constructor(
    readonly kind: ProtocolErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The worker could not answer (crashed, timed out, busy, not installed): our fault, not the client's. */
export class AnonCredUnavailable extends Error {
  override readonly name = "AnonCredUnavailable";
}

interface Job {
  line: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** Queue-wait timer, then run timer. */
  timer: NodeJS.Timeout | null;
}

interface Worker {
  child: ChildProcess;
  job: Job | null;
  alive: boolean;
}

export interface PoolOptions {
  python: string;
  size: number;
  /** Longest a request may wait in the queue, and then longest it may run. */
  timeoutMs: number;
  /** Requests allowed to wait; beyond it a request is refused at once (default 64 per worker). */
  maxQueue?: number;
  onWorkerExit?: (code: number | null, stderr: string) => void;
}

const KINDS = new Set(["DeserializationFailed", "ProtocolError", "CredentialError"]);

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly maxQueue: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    this.maxQueue = opts.maxQueue ?? 64 * opts.size;
    for (let i = 0; i < opts.size; i++) this.workers.push(this.start());
  }

  private start(): Worker {
    const child = spawn(this.opts.python, ["-u", WORKER], {
      stdio: ["pipe", "pipe", "pipe"],
      // Only what Python needs: no secret of the origin's environment reaches the worker.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PYTHONDONTWRITEBYTECODE: "1" },
    });
    const w: Worker = { child, job: null, alive: true };
    const startedAt = Date.now();
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString("utf8")).slice(-4000);
    });
    child.stdin!.on("error", () => {}); // EPIPE after a crash: the exit handler reports it
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let msg: { id?: number; ok?: boolean; result?: unknown; kind?: string; message?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.id === 0 && msg.kind === "ImportError") stderr += `\nImportError: ${msg.message ?? ""}`;
      const job = w.job;
      if (!job || msg.id === 0) return;
      w.job = null;
      clearTimeout(job.timer!);
      if (msg.ok) job.resolve(msg.result);
      else if (msg.kind && KINDS.has(msg.kind)) job.reject(new AnonCredError(msg.kind as ProtocolErrorKind, msg.message ?? ""));
      else job.reject(new AnonCredUnavailable(`${msg.kind ?? "error"}: ${msg.message ?? ""}`));
      this.pump();
    });
    const onGone = (code: number | null) => {
      if (!w.alive) return;
      w.alive = false;
      if (w.job) {
        clearTimeout(w.job.timer!);
        w.job.reject(new AnonCredUnavailable(`credential worker exited (${code}): ${stderr.trim().split("\n").pop() ?? ""}`));
        w.job = null;
      }
      if (this.closed) return;
      this.opts.onWorkerExit?.(code, stderr);
      const restart = () => {
        const i = this.workers.indexOf(w);
        if (this.closed || i < 0) return;
        this.workers[i] = this.start();
        this.pump();
      };
      // A worker that dies at once (Python or ooniauth-py gone) is not restarted in a tight loop.
      if (Date.now() - startedAt < 2000) setTimeout(restart, 2000).unref();
      else restart();
      // With no worker left, nobody would take the queue: answer it now.
      if (!this.workers.some((x) => x.alive)) this.failQueue("no credential worker is running");
    };
    child.once("exit", onGone);
    child.once("error", (err) => {
      stderr += `\n${err.message}`;
      onGone(null);
    });
    return w;
  }

  private failQueue(reason: string): void {
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.timer!);
      job.reject(new AnonCredUnavailable(reason));
    }
  }

  private pump(): void {
    for (const w of this.workers) {
      if (!this.queue.length) return;
      if (!w.alive || w.job) continue;
      const job = this.queue.shift()!;
      clearTimeout(job.timer!);
      w.job = job;
      job.timer = setTimeout(() => {
        if (w.job !== job) return;
        w.job = null;
        job.reject(new AnonCredUnavailable(`credential worker did not answer within ${this.opts.timeoutMs} ms`));
        // Stuck on one request is stuck for all: replace it.
        w.child.kill("SIGKILL");
      }, this.opts.timeoutMs);
      w.child.stdin!.write(job.line);
    }
  }

  /** One request; rejects with AnonCredError (the input) or AnonCredUnavailable (us). */
  call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.closed) return Promise.reject(new AnonCredUnavailable("credential workers are stopped"));
    if (!this.workers.some((w) => w.alive)) return Promise.reject(new AnonCredUnavailable("no credential worker is running"));
    if (this.queue.length >= this.maxQueue) return Promise.reject(new AnonCredUnavailable("credential workers are busy"));
    const line = `${JSON.stringify({ id: this.nextId++, op, ...args })}\n`;
    return new Promise<T>((resolve, reject) => {
      const job: Job = { line, resolve: resolve as (v: unknown) => void, reject, timer: null };
      job.timer = setTimeout(() => {
        const i = this.queue.indexOf(job);
        if (i < 0) return;
        this.queue.splice(i, 1);
        reject(new AnonCredUnavailable(`credential workers busy for ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      this.queue.push(job);
      this.pump();
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** Process ids of the running workers (tests stop one to check recovery). */
  pids(): number[] {
    return this.workers.filter((w) => w.alive && w.child.pid !== undefined).map((w) => w.child.pid!);
  }

  /** Requests waiting for a worker (metrics, tests). */
  get waiting(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failQueue("credential workers are stopped");
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!w.alive || w.child.exitCode !== null) return resolve();
            w.child.once("exit", () => resolve());
            w.child.stdin!.end();
            setTimeout(() => w.child.kill("SIGKILL"), 2000).unref();
          }),
      ),
    );
  }
}
