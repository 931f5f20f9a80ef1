// Keeps an average rate: after `bytes` more, waits until at least total/rate seconds have passed
// since the start. A backup running next to live traffic must not take the disk or the ClickHouse
// server away from it; reading more slowly holds the query's stream back (TCP back-pressure on a
// server), so the throttle works on what is read, not only on what is written.

export class Throttle {
  #start: number;
  #total = 0;

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#start = now();
  }

  /** How long to wait after `bytes` more (0 when unthrottled or behind schedule). */
  delayAfter(bytes: number): number {
    this.#total += bytes;
    if (this.bytesPerSecond <= 0) return 0;
    const due = this.#start + (this.#total / this.bytesPerSecond) * 1000;
    return Math.max(0, due - this.now());
  }

  async pace(bytes: number, signal?: AbortSignal): Promise<void> {
    const ms = this.delayAfter(bytes);
    if (ms <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(done, ms);
      function done() {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }
      function onAbort() {
        clearTimeout(t);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
