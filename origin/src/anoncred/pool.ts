import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

// A pool of long-lived Python workers (worker.py), each holding ooniauth-py's ServerState: the
// reference implementation of the protocol, used as it is rather than re-implemented here
// (docs/anonymous-credentials.md says why). One JSON line per request each way. A request goes to
// the worker with the fewest requests in flight; a worker that dies fails what it had in flight and
// is started again, so one bad input can never take verification down for good.

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

/** The worker could not answer (crashed, timed out, not installed): a fault of ours, not the client's. */
export class AnonCredUnavailable extends Error {
  override readonly name = "AnonCredUnavailable";
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Worker {
  child: ChildProcess;
  pending: Map<number, Pending>;
  alive: boolean;
}

export interface PoolOptions {
  python: string;
  size: number;
  timeoutMs: number;
  onWorkerExit?: (code: number | null, stderr: string) => void;
}

const KINDS = new Set(["DeserializationFailed", "ProtocolError", "CredentialError"]);

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    for (let i = 0; i < opts.size; i++) this.workers.push(this.start());
  }

  private start(): Worker {
    const child = spawn(this.opts.python, ["-u", WORKER], {
      stdio: ["pipe", "pipe", "pipe"],
      // Only what Python needs: no secrets of the origin's environment reach the worker.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PYTHONDONTWRITEBYTECODE: "1" },
    });
    const w: Worker = { child, pending: new Map(), alive: true };
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
      const p = typeof msg.id === "number" ? w.pending.get(msg.id) : undefined;
      if (!p) {
        // id 0: the worker could not import ooniauth_py (it exits next).
        if (msg.kind === "ImportError") stderr += `\nImportError: ${msg.message ?? ""}`;
        return;
      }
      w.pending.delete(msg.id!);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else if (msg.kind && KINDS.has(msg.kind)) p.reject(new AnonCredError(msg.kind as ProtocolErrorKind, msg.message ?? ""));
      else p.reject(new AnonCredUnavailable(`${msg.kind ?? "error"}: ${msg.message ?? ""}`));
    });
    const onGone = (code: number | null) => {
      if (!w.alive) return;
      w.alive = false;
      for (const p of w.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new AnonCredUnavailable(`credential worker exited (${code}): ${stderr.trim().split("\n").pop() ?? ""}`));
      }
      w.pending.clear();
      this.opts.onWorkerExit?.(code, stderr);
      // A worker that dies at once (Python or ooniauth-py gone) is not restarted in a tight loop.
      const restart = () => {
        const i = this.workers.indexOf(w);
        if (!this.closed && i >= 0) this.workers[i] = this.start();
      };
      if (Date.now() - startedAt < 2000) setTimeout(restart, 2000).unref();
      else restart();
    };
    child.once("exit", onGone);
    child.once("error", (err) => {
      stderr += `\n${err.message}`;
      onGone(null);
    });
    return w;
  }

  /** One request to the least busy worker; rejects with AnonCredError or AnonCredUnavailable. */
  call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.closed) return Promise.reject(new AnonCredUnavailable("credential workers are stopped"));
    let w = this.workers[0]!;
    for (const c of this.workers) if (c.alive && (!w.alive || c.pending.size < w.pending.size)) w = c;
    if (!w.alive) return Promise.reject(new AnonCredUnavailable("no credential worker is running"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        w.pending.delete(id);
        reject(new AnonCredUnavailable(`credential worker did not answer within ${this.opts.timeoutMs} ms`));
        // A worker stuck on one request is stuck for all: replace it.
        w.child.kill("SIGKILL");
      }, this.opts.timeoutMs);
      w.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      w.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  get size(): number {
    return this.workers.length;
  }

  async close(): Promise<void> {
    this.closed = true;
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
