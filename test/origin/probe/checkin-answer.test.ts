import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkInAnswerJson, confJson } from "../../../origin/src/probe/checkin-answer";
import { ServicesFile } from "../../../origin/src/probe/config-files";
import { CHECK_IN_TESTS } from "../../../origin/src/probe/routes-checkin";
import { testHelpersFor, type RequestSite } from "../../../origin/src/probe/test-helpers";
import { repoRoot } from "../../support/origin-process";

// Check-in's answer is written as text from cached pieces: it must be exactly what serializing the
// whole answer object gives (same keys, same order, same escaping), and the cached `conf` exactly
// what testHelpersFor gives for every client, bridge and services file.

const services = ServicesFile.parse(JSON.parse(readFileSync(`${repoRoot}/origin/fixtures/probe/services.json`, "utf8")));

function site(clientIp: string, bridgeOrigin: string | null = null): RequestSite {
  return { clientIp, bridgeOrigin, baseUrl: "https://api.example.org" };
}

describe("check-in answer text", () => {
  it("is byte for byte JSON.stringify of the answer object", () => {
    const urls = [
      { category_code: "NEWS", url: "https://example.org/a?b=\"c\"&d=\u00e9", country_code: "IT" },
      { category_code: "HUMR", url: "http://example.net/", country_code: "XX" },
    ];
    const s = site("192.0.2.7");
    // A collector id that JSON must escape, too (the stems are escaped once, the random part never needs it).
    for (const [networkName, collector] of [["Vodafone \"Italia\" S.p.A.", "1"], [null, 'a"\\b']] as const) {
      const stems = CHECK_IN_TESTS.map((name) => `20240214T090617Z_${name.replace(/_/g, "")}_IT_30722_n${collector}_`);
      const random = CHECK_IN_TESTS.map((_, i) => String(i).padStart(16, "a")).join("");
      const reportIds = stems.map((stem, i) => stem + random.slice(i * 16, i * 16 + 16));
      const text = checkInAnswerJson({
        probeCc: "IT",
        probeAsn: "AS30722",
        networkName,
        utcTime: "2024-02-14T09:06:17Z",
        conf: confJson(services, s),
        testNames: CHECK_IN_TESTS,
        reportIds: { stems, random },
        urlsFor: "web_connectivity",
        urlsItems: JSON.stringify(urls).slice(1, -1),
      });
      const object = {
        v: 1,
        probe_cc: "IT",
        probe_asn: "AS30722",
        probe_network_name: networkName,
        utc_time: "2024-02-14T09:06:17Z",
        conf: { features: services.features, test_helpers: testHelpersFor(services, s) },
        tests: Object.fromEntries(
          CHECK_IN_TESTS.map((name, i) => [name, name === "web_connectivity" ? { report_id: reportIds[i], urls } : { report_id: reportIds[i] }]),
        ),
      };
      expect(text).toBe(JSON.stringify(object));
    }
  });

  it("caches conf per rotation bucket and bridge: always what testHelpersFor gives", () => {
    const clients = ["192.0.2.1", "192.0.2.9", "192.0.2.10", "198.51.100.77", "2001:db8::1", "2001:db8::63", "not an address"];
    for (const bridge of [null, "https://bridge-a.example", "https://bridge-b.example"]) {
      for (const ip of clients) {
        for (let twice = 0; twice < 2; twice++) {
          const conf = JSON.parse(confJson(services, site(ip, bridge)));
          expect(conf).toEqual({ features: services.features, test_helpers: testHelpersFor(services, site(ip, bridge)) });
        }
      }
    }
    // A services file that changed (a new object) is not answered from the old one's cache.
    const changed = ServicesFile.parse({ ...services, features: { ...services.features, some_new_flag: true } });
    expect(JSON.parse(confJson(changed, site("192.0.2.1"))).features).toEqual(changed.features);
  });
});
