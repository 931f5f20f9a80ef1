import { readFileSync, writeFileSync } from "node:fs";

// Names for the interop run in /etc/hosts: every name the real probe and helpers are sent to maps to
// a loopback address, so nothing they do leaves 127.0.0.0/8. Each line carries a tag with the run's
// id; remove() takes out exactly those lines (and lines of earlier runs whose process is gone),
// leaving everything else in the file as it was. The suite runs as root (CI does); without write
// access it says so and the caller skips.

const TAG = "# ooni-edge-interop";
export const HOSTS_FILE = process.env.OONI_EDGE_HOSTS_FILE ?? "/etc/hosts";

export function hostsWritable(): boolean {
  try {
    writeFileSync(HOSTS_FILE, readFileSync(HOSTS_FILE));
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Lines from another interop run whose process no longer exists (a run that was SIGKILLed). */
function stale(line: string): boolean {
  const m = line.match(/# ooni-edge-interop pid=(\d+)/);
  return m !== null && !alive(Number(m[1]));
}

export class HostsEntries {
  private readonly tag = `${TAG} pid=${process.pid} run=${Math.random().toString(36).slice(2, 10)}`;

  /** Adds `address name` lines (written in place: /etc/hosts may be a bind mount). */
  add(entries: Record<string, string>): void {
    const kept = readFileSync(HOSTS_FILE, "utf8").split("\n").filter((l) => !stale(l));
    while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
    const ours = Object.entries(entries).map(([name, address]) => `${address} ${name} ${this.tag}`);
    writeFileSync(HOSTS_FILE, [...kept, ...ours, ""].join("\n"));
  }

  remove(): void {
    const lines = readFileSync(HOSTS_FILE, "utf8").split("\n");
    const kept = lines.filter((l) => !l.endsWith(this.tag) && !stale(l));
    if (kept.length !== lines.length) writeFileSync(HOSTS_FILE, kept.join("\n"));
  }
}
