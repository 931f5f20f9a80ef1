import { Worker, type ResourceLimits } from "node:worker_threads";
import { threadSource } from "../../thread-source";
import type { FingerprintLists, FromWorker, ToWorker } from "./protocol";
import type { ItemResult, ScoreItem } from "./score-item";

// A fixed set of scoring threads. Threads start on first use (an origin that never receives a
// measurement never spawns any), are referenced only while they have work (an idle pool never keeps
// a process alive) and are replaced when they die. A task whose thread died is retried item by
// item on a fresh thread; an item that kills a thread twice is reported as failed, never retried
// forever.

interface Task {
  id: number;
  items: ScoreItem[];
  /** True once this task already ran on a thread that died. */
  retried: boolean;
  resolve(results: ItemResult[]): void;
}

interface Slot {
  worker: Worker;
  running: Map<number, Task>;
  /** The thread loaded its code. */
  ready: boolean;
}

/** Tasks handed to one thread at once: one running, one waiting in its message queue. */
const PER_THREAD = 2;

/**
 * Young generation of a scoring thread, MB (V8 sizes it as 3 semi-spaces: this is
 * `--max-semi-space-size=8`, which bench/fastpath gives its one-core run). Scoring makes one parse
 * tree per measurement and drops it; on the bench's ≤ 100 KB mix a 4–8 MB semi-space scores as
 * fast as V8's default 16 MB and peaks ~15 MB lower per thread.
 */
export const SCORING_YOUNG_GENERATION_MB = 24;

function workerSource(): { source: string | URL; eval: boolean } {
  return threadSource(new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url));
}

export class ScoringPool {
  private readonly slots: (Slot | null)[];
  private readonly queue: Task[] = [];
  private fingerprints: FingerprintLists | null = null;
  private nextId = 1;
  private closed = false;
  private startFailures = 0;
  private respawnTimer: NodeJS.Timeout | null = null;
  /** Threads that died (crash or out of memory); for stats and tests. */
  crashes = 0;

  private readonly onCrash: (err: unknown, phase: "start" | "task") => void;

  constructor(
    readonly size: number,
    private readonly opts: {
      /** A thread died: while starting (its code did not load) or on a task. */
      onCrash?: (err: unknown, phase: "start" | "task") => void;
      /** Per-thread heap limits (a measurement beyond them kills only its thread). */
      resourceLimits?: ResourceLimits;
    } = {},
  ) {
    this.onCrash = opts.onCrash ?? (() => {});
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be ≥ 1 (got ${size})`);
    this.slots = Array.from({ length: size }, () => null);
  }

  /** Applies to every task submitted after this call, on every thread (present and future). */
  setFingerprints(lists: FingerprintLists): void {
    this.fingerprints = lists;
    for (const slot of this.slots) slot?.worker.postMessage({ type: "fingerprints", lists } satisfies ToWorker);
  }

  /** Scores items on a thread; one result per item, in order. Never rejects. */
  score(items: ScoreItem[]): Promise<ItemResult[]> {
    if (this.closed) return Promise.resolve(items.map(() => ({ ok: false, error: "scoring pool closed", retryable: true })));
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, items, retried: false, resolve });
      this.dispatch();
    });
  }

  /** Tasks submitted and not yet answered. */
  get pending(): number {
    let n = this.queue.length;
    for (const slot of this.slots) n += slot?.running.size ?? 0;
    return n;
  }

  get capacity(): number {
    return this.size * PER_THREAD;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    for (const task of this.queue.splice(0)) task.resolve(task.items.map(() => ({ ok: false, error: "scoring pool closed", retryable: true })));
    await Promise.all(
      this.slots.map(async (slot, i) => {
        if (!slot) return;
        this.slots[i] = null;
        for (const task of slot.running.values()) {
          task.resolve(task.items.map(() => ({ ok: false, error: "scoring pool closed", retryable: true })));
        }
        slot.running.clear();
        await slot.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    if (this.respawnTimer) return;
    while (this.queue.length > 0 && !this.closed) {
      let best = -1;
      for (let i = 0; i < this.slots.length; i++) {
        const load = this.slots[i]?.running.size ?? 0;
        if (load < PER_THREAD && (best < 0 || load < (this.slots[best]?.running.size ?? 0))) best = i;
      }
      if (best < 0) return;
      const slot = this.slots[best] ?? this.spawn(best);
      const task = this.queue.shift()!;
      slot.running.set(task.id, task);
      slot.worker.ref();
      slot.worker.postMessage({ type: "score", id: task.id, items: task.items } satisfies ToWorker);
    }
  }

  private spawn(index: number): Slot {
    const { source, eval: isEval } = workerSource();
    const worker = new Worker(source, {
      eval: isEval,
      name: `fastpath-${index}`,
      resourceLimits: { maxYoungGenerationSizeMb: SCORING_YOUNG_GENERATION_MB, ...this.opts.resourceLimits },
    });
    const slot: Slot = { worker, running: new Map(), ready: false };
    this.slots[index] = slot;
    if (this.fingerprints) worker.postMessage({ type: "fingerprints", lists: this.fingerprints } satisfies ToWorker);
    worker.on("message", (msg: FromWorker) => {
      if (msg.type === "ready") {
        slot.ready = true;
        this.startFailures = 0;
        return;
      }
      const task = slot.running.get(msg.id);
      if (!task) return;
      slot.running.delete(msg.id);
      if (slot.running.size === 0) worker.unref();
      task.resolve(msg.results);
      this.dispatch();
    });
    let failure: unknown = null;
    worker.on("error", (err) => (failure = err));
    worker.on("exit", (code) => {
      if (this.slots[index] !== slot) return; // closed, or already replaced
      this.slots[index] = null;
      this.crashes++;
      const err = failure ?? new Error(`scoring thread exited with code ${code}`);
      if (!slot.ready) {
        // The thread could not even load its code: not the measurements' fault. Put the work back
        // unchanged and wait before starting threads again, instead of spinning.
        this.onCrash(err, "start");
        this.queue.unshift(...slot.running.values());
        slot.running.clear();
        const delay = Math.min(30_000, 250 * 2 ** Math.min(this.startFailures++, 7));
        this.respawnTimer = setTimeout(() => {
          this.respawnTimer = null;
          this.dispatch();
        }, delay);
        if (this.queue.length === 0) this.respawnTimer.unref();
        return;
      }
      this.onCrash(err, "task");
      // A thread handles its messages one at a time, in order: only the oldest task was running;
      // the others were waiting in its queue and go back unchanged.
      const [culprit, ...waiting] = slot.running.values();
      slot.running.clear();
      this.queue.unshift(...waiting);
      if (culprit) this.retry(culprit);
      this.dispatch();
    });
    return slot;
  }

  private retry(task: Task): void {
    if (task.items.length > 1) {
      // Find the item that killed the thread: each one on its own, once.
      const results: ItemResult[] = new Array<ItemResult>(task.items.length);
      let left = task.items.length;
      const singles: Task[] = task.items.map((item, i) => ({
        id: this.nextId++,
        items: [item],
        retried: true,
        resolve: ([r]) => {
          results[i] = r ?? { ok: false, error: "no result", retryable: true };
          if (--left === 0) task.resolve(results);
        },
      }));
      this.queue.unshift(...singles);
    } else if (!task.retried) {
      this.queue.unshift({ ...task, id: this.nextId++, retried: true });
    } else {
      // Poison (e.g. exhausts a thread's memory): judged unreadable, like a file that is not JSON.
      task.resolve([{ ok: false, error: "scoring thread died on this measurement (twice)" }]);
    }
  }
}
