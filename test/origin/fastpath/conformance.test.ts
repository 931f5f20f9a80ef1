import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadFingerprintDir } from "../../../origin/src/fastpath/fingerprints";
import type { FingerprintSet } from "../../../origin/src/fastpath/fingerprints";
import { parseMeasurementText } from "../../../origin/src/fastpath/normalize";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { corpusAvailable, corpusDir, corpusPath } from "../../support/corpus";

// The upstream fastpath's own test expectations for real measurements, scored with the
// fingerprints as published (CSV).

interface Case {
  file: string;
  test_name: string;
  expected_scores: Record<string, unknown> | null;
  expected_flags: { anomaly: boolean; failure: boolean; confirmed: boolean } | null;
  note: string | null;
}

/** Deep comparison where numbers agree to 1e-9 and object key order does not matter. */
function expectClose(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === "number") {
    expect(typeof actual, where).toBe("number");
    expect(Math.abs((actual as number) - expected), `${where}: ${String(actual)} vs ${expected}`).toBeLessThanOrEqual(1e-9);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), where).toBe(true);
    expect((actual as unknown[]).length, where).toBe(expected.length);
    expected.forEach((e, i) => expectClose((actual as unknown[])[i], e, `${where}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === "object") {
    expect(actual !== null && typeof actual === "object" && !Array.isArray(actual), where).toBe(true);
    const a = actual as Record<string, unknown>;
    expect(Object.keys(a).sort(), `${where} keys`).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectClose(a[k], v, `${where}.${k}`);
    return;
  }
  expect(actual, where).toEqual(expected);
}

const suite = corpusAvailable ? describe : describe.skip;

suite(`fastpath conformance with upstream expectations (corpus: ${corpusDir})`, () => {
  const cases: Case[] = corpusAvailable
    ? (JSON.parse(readFileSync(corpusPath("measurements", "expectations.json"), "utf8")) as { cases: Case[] }).cases
    : [];
  let fingerprints: FingerprintSet;

  beforeAll(async () => {
    fingerprints = await loadFingerprintDir(corpusPath("fingerprints"));
  });

  it("has cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases.map((c) => [c.file, c] as const))("%s", (_file, c) => {
    const parsed = parseMeasurementText(readFileSync(corpusPath("measurements", c.file), "utf8"));
    expect(parsed).toHaveLength(1);
    const result = scoreMeasurement(parsed[0], { fingerprints });
    if (c.expected_scores === null) {
      // Upstream only asserts that these score without crashing.
      expect(Object.keys(result.scores).length).toBeGreaterThan(0);
    } else {
      expectClose(result.scores, c.expected_scores, c.file);
    }
    if (c.expected_flags) {
      expect(result.anomaly, "anomaly").toBe(c.expected_flags.anomaly);
      expect(result.failure, "failure").toBe(c.expected_flags.failure);
      expect(result.confirmed, "confirmed").toBe(c.expected_flags.confirmed);
    }
  });

  it("b64_incorrect: an undecodable base64 body scores without matches, as failed", () => {
    const [m] = parseMeasurementText(
      readFileSync(corpusPath("measurements", "web_connectivity_b64_incorrect.json"), "utf8"),
    );
    const r = scoreMeasurement(m, { fingerprints });
    expect(r.scores.accuracy).toBe(0);
    expect(r.scores.fingerprints).toBeUndefined();
    expect(r.failure).toBe(true);
  });

  it("b64_hdr: a base64 Location header matches no fastpath fingerprint", () => {
    const [m] = parseMeasurementText(readFileSync(corpusPath("measurements", "web_connectivity_b64_hdr.json"), "utf8"));
    const r = scoreMeasurement(m, { fingerprints });
    expect(r.scores.fingerprints).toBeUndefined();
    expect(r.confirmed).toBe(false);
  });

  // Synthetic measurements of the upstream unit tests, scored with the published fingerprints.
  it("body fingerprint expected in the country (MY)", () => {
    const m = {
      test_name: "web_connectivity",
      probe_cc: "MY",
      test_keys: { requests: [{ response: { body: "foo ... Makluman/Notification ... foo" } }], blocking: false, accessible: true },
    };
    const r = scoreMeasurement(m, { fingerprints });
    expect(r.scores.fingerprints).toEqual([
      { name: "ooni.my_0", scope: "nat", location_found: "body", confidence_no_fp: 5, expected_countries: ["MY"] },
    ]);
    expect(r.confirmed).toBe(true);
  });

  it("DNS fingerprint after a CNAME answer (TR)", () => {
    const m = {
      test_name: "web_connectivity",
      probe_cc: "TR",
      test_keys: {
        queries: [
          {
            engine: "system",
            query_type: "A",
            hostname: "beeg.com",
            answers: [
              { hostname: "beeg.com", answer_type: "CNAME", ttl: 0 },
              { ipv4: "195.175.254.2", answer_type: "A", ttl: 0 },
            ],
            failure: null,
          },
        ],
        blocking: "dns",
        accessible: false,
      },
    };
    const r = scoreMeasurement(m, { fingerprints });
    expect((r.scores.fingerprints as { name: string }[]).map((f) => f.name)).toEqual(["ooni.tr_6"]);
    expect(r.scores).toMatchObject({ blocking_general: 2.0, blocking_country: 1.0, confirmed: true });
  });

  it("GdF stop page (IT): confirmed country blocking without the probe noticing", () => {
    const m = {
      input: "foo",
      measurement_start_time: "",
      probe_asn: "1",
      report_id: "123",
      test_name: "web_connectivity",
      test_start_time: "",
      probe_cc: "IT",
      test_keys: { requests: [{ response: { body: "GdF Stop Page" } }], blocking: false, accessible: true },
    };
    expect(scoreMeasurement(m, { fingerprints }).scores).toEqual({
      blocking_general: 1.0,
      blocking_global: 0.0,
      blocking_country: 1.0,
      blocking_isp: 0.0,
      blocking_local: 0.0,
      fingerprints: [{ name: "ooni.it_0", scope: "nat", location_found: "body", confidence_no_fp: 5, expected_countries: ["IT"] }],
      confirmed: true,
    });
  });

  it("a base64 body that is not a blockpage matches nothing", () => {
    const m = {
      test_name: "web_connectivity",
      probe_cc: "MY",
      test_keys: {
        requests: [
          {
            response: {
              body: { data: "q82BgAABAAEAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQABwAwAAQABAAA/+AAEXbjYIg==", format: "base64" },
            },
          },
        ],
        blocking: false,
        accessible: true,
      },
    };
    expect(scoreMeasurement(m, { fingerprints }).scores.fingerprints).toBeUndefined();
  });

  it("scores every legacy YAML report without throwing", () => {
    for (const file of ["binary_city.yaml", "dns_n_http_bin_body.yaml", "http_invalid_request_line.yaml"]) {
      const msms = parseMeasurementText(readFileSync(corpusPath("measurements", file), "utf8"));
      expect(msms.length, file).toBe(1);
      for (const m of msms) {
        JSON.stringify(m);
        expect(() => scoreMeasurement(m, { fingerprints })).not.toThrow();
      }
    }
  });
});
