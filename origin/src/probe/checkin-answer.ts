import type { ReportIdParts } from "../intake/report-id";
import type { ServicesFile } from "./config-files";
import { ipBucket, testHelpersFor, type RequestSite } from "./test-helpers";

// The check-in answer written as JSON text from pieces that are mostly the same from one request
// to the next (profiled: building and serializing them per request was a fifth of a check-in's
// CPU). The shape is CheckInResponse's (routes-checkin.ts), keys in the same order as before:
// v, probe_cc, probe_asn, probe_network_name, utc_time, conf, tests.

// The flags upstream's check-in always sends (ooni/backend ooniapi/services/ooniprobe
// probe_services.py), so a services.json written before one existed still gets it; the file's own
// `features` win. `webconnectivity_0.5` makes the probe run the newer web_connectivity (LTE).
export const UPSTREAM_FEATURES: Readonly<Record<string, boolean>> = {
  torsf_enabled: false,
  vanilla_tor_enabled: false,
  openvpn_enabled: false,
  "webconnectivity_0.5": true,
};

/**
 * `conf` ({features, test_helpers}) as JSON. It depends only on the services file and on what
 * testHelpersFor reads of the site: the client's rotation bucket (0..99, not the address itself),
 * the bridge, its legacy helpers and BASE_URL. Kept per services file (a reload makes a new object, so a new cache).
 */
const confCache = new WeakMap<ServicesFile, Map<string, string>>();
const MAX_CONF_ENTRIES = 4096;

export function confJson(services: ServicesFile, site: RequestSite): string {
  let byKey = confCache.get(services);
  if (!byKey) confCache.set(services, (byKey = new Map()));
  const bucket = ipBucket(site.clientIp);
  const key = `${bucket}|${site.bridgeOrigin ?? ""}|${site.baseUrl ?? ""}|${site.bridgeLegacy ? JSON.stringify(site.bridgeLegacy) : ""}`;
  let json = byKey.get(key);
  if (json === undefined) {
    json = JSON.stringify({ features: { ...UPSTREAM_FEATURES, ...services.features }, test_helpers: testHelpersFor(services, site) });
    // Bridge names come only from the authenticated edge, but stay bounded all the same.
    if (byKey.size >= MAX_CONF_ENTRIES) byKey.clear();
    byKey.set(key, json);
  }
  return json;
}

/**
 * `"name":{"report_id":"<stem>` per test, made once per list of stems (reportIdParts keeps one per
 * network and second): all of a test's entry but the id's random characters and what follows. The
 * stem is escaped as JSON would (a collector id could hold anything); the random part needs none.
 */
const testHeads = new WeakMap<readonly string[], string[]>();
function testHeadsFor(names: readonly string[], stems: readonly string[]): string[] {
  let heads = testHeads.get(stems);
  if (heads === undefined) {
    heads = names.map((name, i) => `${JSON.stringify(name)}:{"report_id":${JSON.stringify(stems[i]).slice(0, -1)}`);
    testHeads.set(stems, heads);
  }
  return heads;
}

export interface CheckInAnswerParts {
  probeCc: string;
  probeAsn: string;
  networkName: string | null;
  utcTime: string;
  conf: string;
  testNames: readonly string[];
  /** The report ids, one per test name (reportIdParts: stems and 16 random characters each). */
  reportIds: ReportIdParts;
  /** Which test gets the URL list, and the list's elements in JSON without the brackets. */
  urlsFor: string;
  urlsItems: string;
}

/**
 * The answer as consecutive pieces of text: the URL list (10 of a check-in's 10.5 KB) is a piece of
 * its own, passed on as the flat string the snapshot joined, so writing the answer to the socket
 * does not first copy it into one string (joining them gives checkInAnswerJson).
 */
export function checkInAnswerChunks(p: CheckInAnswerParts): string[] {
  const chunks: string[] = [];
  let text =
    `{"v":1,"probe_cc":${JSON.stringify(p.probeCc)},"probe_asn":${JSON.stringify(p.probeAsn)},` +
    `"probe_network_name":${JSON.stringify(p.networkName)},"utc_time":${JSON.stringify(p.utcTime)},` +
    `"conf":${p.conf},"tests":{`;
  const heads = testHeadsFor(p.testNames, p.reportIds.stems);
  const random = p.reportIds.random;
  for (let i = 0; i < p.testNames.length; i++) {
    const name = p.testNames[i]!;
    if (i > 0) text += ",";
    text += `${heads[i]}${random.slice(i * 16, i * 16 + 16)}"`;
    if (name === p.urlsFor) {
      chunks.push(`${text},"urls":[`, p.urlsItems);
      text = "]";
    }
    text += "}";
  }
  chunks.push(`${text}}}`);
  return chunks;
}

export function checkInAnswerJson(p: CheckInAnswerParts): string {
  return checkInAnswerChunks(p).join("");
}
