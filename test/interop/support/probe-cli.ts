import { execFileSync, type ExecFileSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, appendFileSync, chmodSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Builds the real OONI clients the interop suite drives — miniooni, oohelperd and the differential's
// verdict program — from ooni/probe-cli as the Go module proxy serves it (`go mod download` fetches
// the module zip, which carries the whole source), patched as docs/interop.md lists, and caches the
// binaries under ~/.cache/ooni-edge/probe-cli/<version>-<patch hash>/ so a second run does not
// rebuild. Nothing built here is committed.
//
// Version: the issue pins 7cb22410c (v3.31 alpha), but the module proxy reachable here refuses that
// commit (403 "This module version is not available" for the pseudo-version
// v3.30.0-beta.0.20260814143748-7cb22410c98d and for the bare hash). v3.30.0 is the newest release it
// serves; internal/oohelperd, internal/engineresolver, internal/probeservices and the
// web_connectivity experiments are identical between the two. PROBE_CLI_VERSION overrides it.

export const PROBE_CLI_MODULE = "github.com/ooni/probe-cli/v3";
export const PROBE_CLI_VERSION = process.env.PROBE_CLI_VERSION ?? "v3.30.0";

// Two modules the proxy refuses (toolchain.md / real-clients.md): probe-assets v0.31.0 (v0.30.0 is
// served; the embedded GeoIP databases are a release older) and psiphon-tunnel-core (left out with
// the build tag probe-cli itself provides for that).
const ASSETS_REPLACE = "github.com/ooni/probe-assets@v0.30.0";
const BUILD_TAGS = "ooni_feature_disable_psiphon";

const here = path.dirname(fileURLToPath(import.meta.url));
const goDir = path.join(here, "go");

export interface ProbeCliBinaries {
  dir: string;
  miniooni: string;
  oohelperd: string;
  verdict: string;
  version: string;
  /** Whether this call built them (false: found in the cache). */
  built: boolean;
  buildSeconds: number;
}

/**
 * The patches, each an exact edit of one line in probe-cli plus our own files dropped into its
 * tree. An anchor that is not found fails the build: a new probe-cli must be looked at, not
 * half-patched.
 */
interface Edit {
  file: string;
  find: string;
  replace: string;
}
const EDITS: Edit[] = [
  {
    // The probe and oohelperd both decide "bogon" here; loopback stops being one only under
    // OONI_EDGE_INTEROP_LOOPBACK=1 (interop_loopback.go).
    file: "internal/netxlite/bogon.go",
    find: "return ip == nil || isBogon(address, ip)",
    replace: "return ip == nil || (isBogon(address, ip) && !ooniEdgeInteropPublicLoopback(ip))",
  },
  {
    // ... and web_connectivity's "never connect to loopback" rule, likewise.
    file: "internal/netxlite/bogon.go",
    find: "return ip == nil || ip.IsLoopback()",
    replace: "return ip == nil || (ip.IsLoopback() && !ooniEdgeInteropPublicLoopback(ip))",
  },
  {
    // web_connectivity v0.5's public DNS-over-UDP resolver: the suite's DNS responder under
    // OONI_EDGE_INTEROP_UDP_RESOLVER (interop_udpresolver.go).
    file: "internal/webconnectivityalgo/dnsoverudp.go",
    find: "func RandomDNSOverUDPResolverEndpointIPv4() string {",
    replace:
      "func RandomDNSOverUDPResolverEndpointIPv4() string {\n\tif ep := ooniEdgeInteropUDPResolver(); ep != \"\" {\n\t\treturn ep\n\t}",
  },
  {
    // oohelperd's resolver: the system one under OOHELPERD_SYSTEM_RESOLVER=1 (interop_resolver.go).
    file: "internal/oohelperd/handler.go",
    find: "func newResolver(logger model.Logger, netx *netxlite.Netx) model.Resolver {",
    replace:
      "func newResolver(logger model.Logger, netx *netxlite.Netx) model.Resolver {\n\tif r := ooniEdgeSystemResolver(logger, netx); r != nil {\n\t\treturn r\n\t}",
  },
];
const ADDED: { from: string; to: string }[] = [
  { from: "interop_loopback.go.txt", to: "internal/netxlite/zz_ooniedge_interop.go" },
  { from: "interop_resolver.go.txt", to: "internal/oohelperd/zz_ooniedge_interop.go" },
  { from: "interop_udpresolver.go.txt", to: "internal/webconnectivityalgo/zz_ooniedge_interop.go" },
  { from: "interop_telegram.go.txt", to: "internal/experiment/telegram/zz_ooniedge_interop.go" },
  { from: "interop_reanalyze.go.txt", to: "internal/experiment/webconnectivitylte/zz_ooniedge_interop.go" },
  { from: "verdict_main.go.txt", to: "internal/cmd/ooniedgeverdict/main.go" },
];

function patchHash(): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ EDITS, ADDED, ASSETS_REPLACE, BUILD_TAGS }));
  for (const a of ADDED) h.update(readFileSync(path.join(goDir, a.from)));
  return h.digest("hex").slice(0, 12);
}

export function probeCliCacheDir(): string {
  const root = process.env.OONI_EDGE_CACHE ?? path.join(homedir(), ".cache", "ooni-edge");
  return path.join(root, "probe-cli", `${PROBE_CLI_VERSION}-${patchHash()}`);
}

function goEnv(): NodeJS.ProcessEnv {
  // GOTOOLCHAIN=auto: if the installed go is older than probe-cli's go.mod asks, the go command
  // fetches the toolchain module from the same module proxy.
  return { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? "auto", GOFLAGS: "-buildvcs=false" };
}

function run(cmd: string, args: string[], opts: ExecFileSyncOptions = {}): string {
  return execFileSync(cmd, args, { encoding: "utf8", env: goEnv(), stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20, ...opts }) as string;
}

export function goAvailable(): boolean {
  try {
    run("go", ["version"]);
    return true;
  } catch {
    return false;
  }
}

/** Returns cached binaries, building them first when the cache has none. */
export function ensureProbeCli(log: (line: string) => void = () => {}): ProbeCliBinaries {
  const dir = probeCliCacheDir();
  const bin = path.join(dir, "bin");
  const result = (built: boolean, buildSeconds: number): ProbeCliBinaries => ({
    dir,
    miniooni: path.join(bin, "miniooni"),
    oohelperd: path.join(bin, "oohelperd"),
    verdict: path.join(bin, "ooniedgeverdict"),
    version: PROBE_CLI_VERSION,
    built,
    buildSeconds,
  });
  if (existsSync(path.join(dir, "done"))) return result(false, 0);

  const started = Date.now();
  mkdirSync(dir, { recursive: true });
  log(`interop: building probe-cli ${PROBE_CLI_VERSION} into ${dir} (once per version and patch set)`);
  const dl = JSON.parse(run("go", ["mod", "download", "-json", `${PROBE_CLI_MODULE}@${PROBE_CLI_VERSION}`], { cwd: dir })) as {
    Dir?: string;
    Error?: string;
  };
  if (!dl.Dir) throw new Error(`the Go module proxy did not serve ${PROBE_CLI_MODULE}@${PROBE_CLI_VERSION}: ${dl.Error ?? "no Dir"}`);

  // The module cache is read-only: build from a writable copy.
  const src = path.join(dir, "src");
  rmSync(src, { recursive: true, force: true });
  cpSync(dl.Dir, src, { recursive: true });
  run("chmod", ["-R", "u+w", src]);

  const assets = JSON.parse(run("go", ["mod", "download", "-json", ASSETS_REPLACE], { cwd: src })) as { Sum?: string; GoModSum?: string; Error?: string };
  if (!assets.Sum || !assets.GoModSum) throw new Error(`the Go module proxy did not serve ${ASSETS_REPLACE}: ${assets.Error ?? "no sums"}`);
  run("go", ["mod", "edit", `-replace=github.com/ooni/probe-assets=${ASSETS_REPLACE}`], { cwd: src });
  const [assetsPath, assetsVersion] = ASSETS_REPLACE.split("@") as [string, string];
  appendFileSync(path.join(src, "go.sum"), `${assetsPath} ${assetsVersion} ${assets.Sum}\n${assetsPath} ${assetsVersion}/go.mod ${assets.GoModSum}\n`);

  for (const e of EDITS) {
    const file = path.join(src, e.file);
    const text = readFileSync(file, "utf8");
    const at = text.indexOf(e.find);
    if (at < 0 || text.indexOf(e.find, at + 1) >= 0) throw new Error(`interop patch: anchor not found exactly once in ${e.file}: ${e.find}`);
    writeFileSync(file, text.slice(0, at) + e.replace + text.slice(at + e.find.length));
  }
  for (const a of ADDED) {
    const to = path.join(src, a.to);
    mkdirSync(path.dirname(to), { recursive: true });
    writeFileSync(to, readFileSync(path.join(goDir, a.from)));
  }

  const tmpBin = path.join(dir, "bin.tmp");
  rmSync(tmpBin, { recursive: true, force: true });
  mkdirSync(tmpBin);
  run(
    "go",
    ["build", "-tags", BUILD_TAGS, "-o", tmpBin + "/", "./internal/cmd/miniooni", "./internal/cmd/oohelperd", "./internal/cmd/ooniedgeverdict"],
    { cwd: src, stdio: ["ignore", "pipe", "inherit"] },
  );
  for (const b of ["miniooni", "oohelperd", "ooniedgeverdict"]) chmodSync(path.join(tmpBin, b), 0o755);
  rmSync(bin, { recursive: true, force: true });
  renameSync(tmpBin, bin);
  // The source copy is only needed to build; the module cache keeps the download.
  rmSync(src, { recursive: true, force: true });
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(path.join(dir, "done"), JSON.stringify({ version: PROBE_CLI_VERSION, builtAt: new Date().toISOString(), seconds }) + "\n");
  log(`interop: probe-cli built in ${seconds.toFixed(0)} s`);
  return result(true, seconds);
}

// `node --import tsx test/interop/support/probe-cli.ts` builds (or finds) the binaries and prints where.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const b = ensureProbeCli((l) => console.error(l));
  console.log(JSON.stringify(b, null, 2));
}
