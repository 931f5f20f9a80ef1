import { existsSync } from "node:fs";
import { appendFile, open, unlink } from "node:fs/promises";
import path from "node:path";
import { runLocked } from "../../../origin/src/timers/runner";

// One of several processes competing for the same timer job (run by two-processes.test.ts):
//   node --import tsx contender.ts TIMERS_DIR HOLD_MS
// It waits for TIMERS_DIR/go, then keeps trying to run the job "contested" under runLocked until
// TIMERS_DIR/stop appears, printing "ran" or "skipped" after each attempt. Inside the job it claims TIMERS_DIR/inside with O_EXCL: if that file already exists,
// another process is inside the job at the same moment — a violation, recorded in violations.log.
// With HOLD_MS < 0 it takes the lock once, says "holding" and never lets go (to be SIGKILLed).

const [dir, holdArg] = process.argv.slice(2) as [string, string];
const holdMs = Number(holdArg);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function job(): Promise<string> {
  const marker = path.join(dir, "inside");
  let fh;
  try {
    fh = await open(marker, "wx");
  } catch {
    await appendFile(path.join(dir, "violations.log"), `${process.pid} found another process inside\n`);
    return "violation";
  }
  await fh.close();
  try {
    if (holdMs < 0) {
      process.stdout.write("holding\n");
      await new Promise(() => {}); // until killed
    }
    await sleep(holdMs);
  } finally {
    await unlink(marker);
  }
  return `run by ${process.pid}`;
}

process.stdout.write("ready\n");
while (!existsSync(path.join(dir, "go"))) await sleep(5);
let ran = 0;
let skipped = 0;
while (!existsSync(path.join(dir, "stop"))) {
  const r = await runLocked("contested", job, { timersDir: dir, staleMs: 30_000, trigger: "timer" });
  if (r.outcome === "skipped_locked") skipped++;
  else if (r.outcome === "ok") ran++;
  else throw new Error(`job failed: ${r.record.summary}`);
  process.stdout.write(r.outcome === "ok" ? "ran\n" : "skipped\n");
  // Up to two holds between attempts, so the other process gets its turns too.
  await sleep(Math.random() * 2 * Math.max(1, holdMs));
}
process.stdout.write(`${JSON.stringify({ pid: process.pid, ran, skipped })}\n`);
