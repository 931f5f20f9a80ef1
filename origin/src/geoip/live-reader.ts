import { unwatchFile, watchFile } from "node:fs";
import type { Stats } from "node:fs";
import type { Reader, Response } from "maxmind";
import { loadMmdb } from "./mmdb";

export type GeoLog = (msg: string, extra?: object) => void;

// Polling (not fs.watch) because database updaters replace the file by rename: polling stats the
// path each time, so it follows the new inode, and it behaves the same on every filesystem.
const POLL_INTERVAL_MS = 1000;

/**
 * One .mmdb file whose Reader can be replaced while lookups run. `current` is swapped by a single
 * assignment after the new file has been parsed completely, so readers never see a half state.
 */
export class LiveReader<T extends Response> {
  #current: Reader<T>;
  #queue: Promise<void> = Promise.resolve();
  #watching = false;
  readonly #listener = (curr: Stats, prev: Stats): void => this.#onStat(curr, prev);

  private constructor(
    readonly path: string,
    readonly label: string,
    readonly log: GeoLog,
    reader: Reader<T>,
  ) {
    this.#current = reader;
  }

  static async open<T extends Response>(path: string, label: string, log: GeoLog): Promise<LiveReader<T>> {
    const reader = await loadMmdb<T>(path, label);
    const live = new LiveReader<T>(path, label, log, reader);
    live.#logLoaded("opened");
    return live;
  }

  get current(): Reader<T> {
    return this.#current;
  }

  /** Re-reads the file; resolves true when swapped in, false (logged) when the old one is kept. */
  reload(): Promise<boolean> {
    // Serialised so an older, slower read can never overwrite a newer one.
    const run = this.#queue.then(() => this.#reloadNow());
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    // persistent: false so a forgotten watcher never keeps the process alive.
    watchFile(this.path, { interval: POLL_INTERVAL_MS, persistent: false }, this.#listener);
  }

  close(): void {
    if (!this.#watching) return;
    this.#watching = false;
    unwatchFile(this.path, this.#listener);
  }

  async #reloadNow(): Promise<boolean> {
    try {
      this.#current = await loadMmdb<T>(this.path, this.label);
    } catch (err) {
      this.log("geoip reload failed, keeping the previous database", {
        db: this.label,
        path: this.path,
        err: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
    this.#logLoaded("reloaded");
    return true;
  }

  #onStat(curr: Stats, prev: Stats): void {
    // A zero inode means the path is momentarily missing (between unlink and rename, or removed):
    // keep serving the old data and wait for the file to come back.
    if (curr.ino === 0 && curr.mtimeMs === 0) {
      if (prev.ino !== 0) this.log("geoip database file disappeared, keeping the loaded data", { db: this.label, path: this.path });
      return;
    }
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    void this.reload();
  }

  #logLoaded(what: string): void {
    const md = this.#current.metadata;
    this.log(`geoip ${this.label} database ${what}`, {
      path: this.path,
      databaseType: md.databaseType,
      buildEpoch: md.buildEpoch.toISOString(),
    });
  }
}
