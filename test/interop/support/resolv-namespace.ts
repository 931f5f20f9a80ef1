import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

// A system resolver that stays on loopback. The machine's /etc/resolv.conf names a nameserver off
// loopback, which tests must never contact; yet the DNS-failure cases need names that are in no
// /etc/hosts line, so the probe and both test helpers must ask *someone*. Each of those programs
// runs in its own mount namespace (`unshare --mount`, as root) where a private resolv.conf naming
// the suite's DNS responder is bind-mounted over /etc/resolv.conf. Nothing in the programs changes:
// getaddrinfo (our helper, Node) and Go's resolver (oohelperd and miniooni, built without cgo) both
// read /etc/resolv.conf, and /etc/hosts is the machine's, so the run's hosts lines still apply.
// If the bind mount fails the program does not start (`&&`), so nothing runs with the real file.

export interface ResolvNamespace {
  /** The private resolv.conf. */
  file: string;
  /** [command, args] that run `cmd args…` with the private resolv.conf. */
  wrap(cmd: string, args: string[]): [string, string[]];
  remove(): void;
}

export function resolvNamespace(nameserver: string): ResolvNamespace {
  const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-interop-resolv-"));
  const file = path.join(dir, "resolv.conf");
  // No search list: a dotted name is asked as given, once per attempt, and nothing else is asked.
  writeFileSync(file, `# ooni-edge interop: the suite's DNS responder\nnameserver ${nameserver}\n`);
  return {
    file,
    // unshare execs (no fork) and sh execs the program: the pid the caller holds is the program's.
    wrap: (cmd, args) => ["unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', file, cmd, ...args]],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Whether this machine can run a program with a private resolv.conf (root with CAP_SYS_ADMIN, util-linux `unshare`). */
export function resolvNamespaceWorks(): boolean {
  const ns = resolvNamespace("127.0.0.1");
  try {
    const [cmd, args] = ns.wrap("grep", ["-q", "ooni-edge interop", "/etc/resolv.conf"]);
    return spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
  } finally {
    ns.remove();
  }
}
