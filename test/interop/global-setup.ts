import type { TestProject } from "vitest/node";
import { hostsWritable } from "./support/hosts";
import { resolvNamespaceWorks } from "./support/resolv-namespace";
import { ensureProbeCli, goAvailable, type ProbeCliBinaries } from "./support/probe-cli";

// Builds the real clients once for the interop project (cached by version and patch set under
// ~/.cache/ooni-edge/probe-cli; a warm run finds them in a second). When this machine cannot run
// the suite — no Go toolchain, or not root (the stand-ins need /etc/hosts and ports 53/80/443 on
// loopback), or no mount namespaces (support/resolv-namespace.ts) — every test skips and says why
// instead of failing.

export default function setup(project: TestProject) {
  let skip = "";
  let binaries: ProbeCliBinaries | null = null;
  if (!goAvailable()) skip = "no Go toolchain on PATH (the interop suite builds miniooni and oohelperd from the Go module proxy)";
  else if (process.getuid?.() !== 0 || !hostsWritable()) skip = "not root: the interop stand-ins need /etc/hosts and ports 53/80/443 on 127.0.0.0/8";
  else if (!resolvNamespaceWorks())
    skip = "cannot run a program with a private /etc/resolv.conf (unshare --mount + mount --bind): the probe and the helpers would ask the machine's nameserver, off loopback";
  else binaries = ensureProbeCli((l) => console.log(l));
  if (binaries) console.log(`interop: probe-cli ${binaries.version} ${binaries.built ? `built in ${binaries.buildSeconds.toFixed(0)} s` : "from the cache"} (${binaries.dir})`);
  project.provide("interopSkip", skip);
  project.provide("probeCli", binaries ?? { dir: "", miniooni: "", oohelperd: "", verdict: "", version: "", built: false, buildSeconds: 0 });
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Why the interop suite cannot run here ("" when it can). */
    interopSkip: string;
    probeCli: ProbeCliBinaries;
  }
}
