// The uploader's steps for one spool hour directory, in order. Each name is also a boundary at
// which the test fault injector (OONI_UPLOADER_CRASH_AT) can kill the process: the name says what
// has just been completed when the crash happens.
export const UPLOADER_STEPS = [
  /** The journal (which uids, which file numbers) is durably on disk. */
  "planned",
  /** Every postcan and JSONL file is built in the work directory. */
  "built",
  /** The first file is in the blob store (the others are not yet). */
  "storing",
  /** Every file is in the blob store and its size verified with a HEAD. */
  "stored",
  /** The jsonl rows are inserted. */
  "indexed",
  /** Every measurement has its fastpath row (ensureScored). */
  "scored",
  /** The journal says "committed": from here on the run only deletes. */
  "committed",
  /** The first spool file is deleted (the others are not yet). */
  "deleting",
  /** Every spool file of the run is deleted. */
  "deleted",
  /** The hour directory is removed (when nothing else arrived in it). */
  "dir-removed",
] as const;

export type UploaderStep = (typeof UPLOADER_STEPS)[number];

/**
 * Test fault injector: when `crashAt` names this step, the process dies at once with SIGKILL — no
 * finally blocks, no flushing, like a power cut or the OOM killer. The line on stderr lets a test
 * check that the crash happened where it asked.
 */
export function crashPoint(step: UploaderStep, crashAt: UploaderStep | null): void {
  if (crashAt !== step) return;
  process.stderr.write(`OONI_UPLOADER_CRASH_AT: crashing after step "${step}"\n`);
  process.kill(process.pid, "SIGKILL");
}
