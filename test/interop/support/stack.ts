import { randomBytes, randomInt } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { helperPool, startEdgeProcess, type EdgeProcess } from "../../contract/edge-process";
import { repoRoot, startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { startHelperProcess, type HelperProcess } from "../../support/testhelper-process";
import { startDnsResponder, type DnsFailure, type DnsResponder } from "./dns";
import { startFarm, type Farm } from "./farm";
import { HostsEntries } from "./hosts";
import { startRecorder, type Recorder } from "./recorder";
import { resolvNamespace, type ResolvNamespace } from "./resolv-namespace";
import { startStunResponder, type StunResponder } from "./stun";
import { startJsonHeaders, startTcpEcho, type LegacyServer } from "../../../origin/src/legacy-helpers";

// Everything the real probe meets in an interop run, on loopback: the real origin (embedded chDB,
// temp blob store), the real Worker (workerd under Miniflare) reached on random bridge hostnames,
// our web-connectivity helper behind it, and the stand-ins for the outside world — the target farm,
// a STUN responder and a DNS responder on their own random 127.x.y.z address, and /etc/hosts names
// for every host the probe's experiments contact.

/** A public address the probe's GeoIP databases know (reported by STUN; never contacted). */
export const REPORTED_PROBE_IP = process.env.INTEROP_PROBE_IP ?? "5.170.0.1";

/** Hosts the experiments and the probe engine reach on their own (read from probe-cli v3.30.0). */
const OUTSIDE_NAMES = [
  // engineresolver's DoH resolvers: pointed at the dead address, they fail at once and the probe
  // falls back to the system resolver (which reads /etc/hosts).
  "cloudflare-dns.com", "dns.google", "dns.quad9.net", "mozilla.cloudflare-dns.com", "wikimedia-dns.org",
  // IP lookups (besides STUN): answered by nobody, the probe goes on with STUN's answer.
  "www.cloudflare.com", "geoip.ubuntu.com",
  // The probe-services defaults that check-in might hand out (web-connectivity fallbacks).
  "0.th.ooni.org", "1.th.ooni.org", "2.th.ooni.org", "3.th.ooni.org", "api.ooni.io",
];
/** Experiment targets, mapped to the farm (HTTPS with a self-signed certificate: TLS fails). */
export const APP_NAMES = [
  // signal
  "cdsi.signal.org", "chat.signal.org", "sfu.voip.signal.org", "storage.signal.org", "uptime.signal.org",
  // whatsapp
  "v.whatsapp.net", "web.whatsapp.com", ...Array.from({ length: 16 }, (_, i) => `e${i + 1}.whatsapp.net`),
  // telegram (its data centres are IP literals: see OONI_EDGE_INTEROP_TELEGRAM_DCS)
  "web.telegram.org",
  // facebook_messenger
  "b-api.facebook.com", "b-graph.facebook.com", "edge-mqtt.facebook.com", "external.xx.fbcdn.net",
  "scontent.xx.fbcdn.net", "star.c10r.facebook.com",
];

export interface InteropStack {
  origin: OriginProcess;
  edge: EdgeProcess;
  helper: HelperProcess;
  farm: Farm;
  /** The recording hop in front of the edge: the port the probe's --probe-services URL uses. */
  recorder: Recorder;
  /** tcp-echo (port 80) and http-return-json-headers, on their own loopback address. */
  legacy: LegacyServer[];
  legacyAddress: string;
  stun: StunResponder;
  dns: DnsResponder;
  /** The farm's loopback address; `dead` is one where nothing listens. */
  farmAddress: string;
  deadAddress: string;
  /** Random hostnames of the bridge, all mapped to the edge. */
  bridgeHosts: string[];
  /** Farm site names (in /etc/hosts). */
  sites: string[];
  /**
   * Names of this run: `refused` maps to the dead address, `dnscheck` to the farm, `cnOnly` to the
   * farm, whose HTTPS answers it with a certificate that names it only in its Common Name.
   */
  names: { refused: string; dnscheck: string; cnOnly: string };
  /**
   * Names in no /etc/hosts line that fail at the DNS responder (DnsFailure), by kind; `slow`
   * answers the farm's address 2 s late, `late` 4.5 s late. Only programs run through `resolv`
   * reach the responder.
   */
  dnsNames: Record<DnsFailure["kind"] | "late", string>;
  /** Runs a program with the private resolv.conf naming the DNS responder (resolv-namespace.ts). */
  resolv: ResolvNamespace;
  edgeSecret: string;
  probeConfigDir: string;
  stop(): Promise<void>;
}

function randomLoopback(): [string, string, string] {
  const a = randomInt(1, 250);
  const b = randomInt(0, 256);
  const c = randomInt(2, 250);
  return [`127.${a}.${b}.${c}`, `127.${a}.${b}.${c + 1}`, `127.${a}.${b}.${c + 2}`];
}

/** The fixture probe config with every outside address swapped for a loopback stand-in. */
function probeConfig(farmAddress: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-interop-probecfg-"));
  cpSync(path.join(repoRoot, "origin/fixtures/probe"), dir, { recursive: true });
  const services = JSON.parse(readFileSync(path.join(dir, "services.json"), "utf8")) as {
    test_helpers: Record<string, { address: string; type: string }[]>;
  };
  // Only the bridge for web connectivity: the production helpers are outside.
  services.test_helpers["web-connectivity"] = services.test_helpers["web-connectivity"]!.filter((e) => e.address === "{bridge}");
  writeFileSync(path.join(dir, "services.json"), JSON.stringify(services, null, 2));
  // Tor: the same kinds of target as the fixture (OR port, dirauth OR port, dir port, obfs4), on the farm.
  const tor = {
    "interop-or": { address: `${farmAddress}:9101`, name: "interop-or", params: {}, protocol: "or_port", source: "" },
    "interop-dirauth-or": { address: `${farmAddress}:9102`, name: "interop-dirauth", params: {}, protocol: "or_port_dirauth", source: "" },
    "interop-dirauth-dir": { address: `${farmAddress}:9131`, name: "interop-dirauth", params: {}, protocol: "dir_port", source: "" },
    "interop-obfs4": {
      address: `${farmAddress}:9103`,
      name: "interop-obfs4",
      params: { cert: ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"], "iat-mode": ["0"] },
      protocol: "obfs4",
      source: "interop",
    },
  };
  writeFileSync(path.join(dir, "tor-targets.json"), JSON.stringify(tor, null, 2));
  return dir;
}

/** A test list (CitizenLab layout) of farm URLs: what check-in hands the probe for web_connectivity. */
function testList(sites: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-interop-testlist-"));
  const head = "url,category_code,category_description,date_added,source,notes";
  const row = (url: string, cat: string) => `${url},${cat},Interop,2024-01-10,ooni-edge interop,`;
  mkdirSync(path.join(dir, "lists"));
  writeFileSync(
    path.join(dir, "lists", "global.csv"),
    [head, row(`http://${sites[0]}/`, "NEWS"), row(`https://${sites[1]}/`, "HUMR"), row(`http://${sites[2]}/redirect/2`, "COMT"), ""].join("\n"),
  );
  for (const cc of ["it", "us"]) writeFileSync(path.join(dir, "lists", `${cc}.csv`), [head, row(`http://${sites[1]}/title/spaces`, "POLR"), ""].join("\n"));
  return dir;
}

export async function startInteropStack(opts: { bridges?: number } = {}): Promise<InteropStack> {
  const edgeSecret = randomBytes(24).toString("hex");
  const [farmAddress, deadAddress, legacyAddress] = randomLoopback();
  const run = randomBytes(3).toString("hex");
  const bridgeHosts = Array.from({ length: opts.bridges ?? 2 }, () => `${randomBytes(4).toString("hex")}.bridge-${run}.example`);
  // Site names of this run only (a second run on the machine maps its own).
  const sites = [`www.site-a-${run}.interop.test`, `site-b-${run}.interop.test`, `shop.site-c-${run}.interop.test`];
  const hosts = new HostsEntries();
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  let hostMap: Record<string, string> = {};
  try {
    hostMap = { [`dnscheck-${run}.interop.test`]: farmAddress };
    for (const b of bridgeHosts) hostMap[b] = "127.0.0.1";
    for (const s of sites) hostMap[s] = farmAddress;
    for (const n of APP_NAMES) hostMap[n] = farmAddress;
    for (const n of OUTSIDE_NAMES) hostMap[n] = deadAddress;
    hostMap["stun.ekiga.net"] = farmAddress;
    hostMap["stun.l.google.com"] = farmAddress;
    hostMap[`refused-${run}.interop.test`] = deadAddress;
    hostMap[`cn-only-${run}.interop.test`] = farmAddress;
    hosts.add(hostMap);
    cleanups.push(() => hosts.remove());

    const farm = await startFarm(farmAddress, [80, 9131, 9101, 9102, 9103, 5222], 443);
    cleanups.push(() => farm.close());
    const stun = await startStunResponder(farmAddress, [3478, 19302], REPORTED_PROBE_IP);
    cleanups.push(() => stun.close());
    const dnsNames: Record<DnsFailure["kind"] | "late", string> = {
      nxdomain: `nxdomain-${run}.interop.test`,
      nodata: `nodata-${run}.interop.test`,
      servfail: `servfail-${run}.interop.test`,
      refused: `dns-refused-${run}.interop.test`,
      // 2 s late: inside oohelperd's 4 s DNS deadline and Go's and glibc's 5 s per-query timeout.
      slow: `slow-dns-${run}.interop.test`,
      silent: `silent-${run}.interop.test`,
      // 4.5 s late: past oohelperd's (and the probe's) 4 s, inside our 8 s budget and the 5 s per-query timeout.
      late: `late-dns-${run}.interop.test`,
    };
    const failing: Record<string, DnsFailure> = {};
    for (const [kind, name] of Object.entries(dnsNames) as [DnsFailure["kind"] | "late", string][])
      failing[name] =
        kind === "slow" || kind === "late" ? { kind: "slow", address: farmAddress, delayMs: kind === "slow" ? 2_000 : 4_500 } : { kind };
    const dns = await startDnsResponder(farmAddress, 53, hostMap, failing);
    cleanups.push(() => dns.close());
    const resolv = resolvNamespace(farmAddress);
    cleanups.push(() => resolv.remove());

    // The legacy helpers (ours, origin/src/legacy-helpers), as `legacy-helpers serve` runs them.
    const legacy = [await startTcpEcho({ host: legacyAddress, port: 80 })];
    cleanups.push(() => Promise.all(legacy.map((l) => l.close())).then(() => {}));
    legacy.push(await startJsonHeaders({ host: legacyAddress, port: 8080 }));

    const probeConfigDir = probeConfig(farmAddress);
    cleanups.push(() => rmSync(probeConfigDir, { recursive: true, force: true }));
    const testListDir = testList(sites);
    cleanups.push(() => rmSync(testListDir, { recursive: true, force: true }));
    const [origin, helper] = await Promise.all([
      startOriginProcess({ env: { EDGE_SHARED_SECRET: edgeSecret, PROBE_CONFIG_DIR: probeConfigDir, TESTLISTS_BOOTSTRAP_DIR: testListDir, TIMERS_IN_ORIGIN: "false" } }),
      // Our helper behind the bridge asks the DNS responder, never the machine's nameserver.
      startHelperProcess(0, 30_000, { wrap: resolv.wrap }),
    ]);
    cleanups.push(async () => {
      await origin.stop();
      origin.cleanup();
    });
    cleanups.push(() => helper.stop());
    const edge = await startEdgeProcess({
      originUrl: origin.url,
      edgeSecret,
      noInspector: true,
      runtime: "miniflare",
      configure: (c) => ({
        ...c,
        helpers: { ...c.helpers, pool: helperPool([helper.url], "th-interop") },
        legacy_helpers: { tcp_echo: [legacyAddress], http_return_json_headers: [`http://${legacyAddress}:8080`] },
      }),
    });
    cleanups.push(() => edge.stop());
    const recorder = await startRecorder(edge.port);
    cleanups.push(() => recorder.close());
    return { origin, edge, helper, farm, recorder, legacy, legacyAddress, stun, dns, farmAddress, deadAddress, bridgeHosts, sites, names: { refused: `refused-${run}.interop.test`, dnscheck: `dnscheck-${run}.interop.test`, cnOnly: `cn-only-${run}.interop.test` }, dnsNames, resolv, edgeSecret, probeConfigDir, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
