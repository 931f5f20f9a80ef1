import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildFastpathRow } from "../../../origin/src/fastpath/row";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { SCORERS } from "../../../origin/src/fastpath/scoring";
import { fp, fpSet } from "./fixtures";

// Random JSON never makes scoring (or the row builder) throw.

const fingerprints = fpSet(
  [fp({ name: "d", location_found: "dns", pattern_type: "full", pattern: "1.2.3.4" })],
  [
    fp({ name: "b", pattern: "a" }),
    fp({ name: "h", location_found: "header.location", pattern_type: "prefix", pattern: "http" }),
    fp({ name: "s", location_found: "header.server", pattern_type: "full", pattern: "x" }),
  ],
);

const testName = fc.oneof(fc.constantFrom(...SCORERS.keys()), fc.string());
const json = fc.jsonValue({ maxDepth: 4 });
// Measurement-shaped values: known keys with random (often wrong) values.
const shaped = fc.record(
  {
    test_name: testName,
    probe_cc: fc.oneof(fc.constantFrom("IT", "ZZ", "ir"), json),
    input: json,
    measurement_start_time: fc.oneof(fc.constant("2024-02-14 09:06:17"), json),
    test_version: fc.oneof(fc.constantFrom("0.2.4", "0.4.3", "0.5.28"), json),
    annotations: json,
    test_helpers: json,
    test_keys: fc.oneof(
      json,
      fc.dictionary(
        fc.constantFrom(
          "requests",
          "queries",
          "tcp_connect",
          "targets",
          "blocking",
          "accessible",
          "failure",
          "sent",
          "received",
          "tor_logs",
          "tor_progress",
          "x_blocking_flags",
          "http_experiment_failure",
          "headers_match",
          "body_length_match",
        ),
        json,
      ),
    ),
  },
  { requiredKeys: [] },
);

describe("scoring never throws (fast-check)", () => {
  it("on random JSON values", () => {
    fc.assert(
      fc.property(json, (m) => {
        const r = scoreMeasurement(m, { fingerprints });
        expect(typeof r.anomaly).toBe("boolean");
        buildFastpathRow(m, r, { measurementUid: "u" });
      }),
      { numRuns: 500 },
    );
  });

  it("on measurement-shaped random values", () => {
    fc.assert(
      fc.property(shaped, fc.option(fc.string()), (m, uid) => {
        const r = scoreMeasurement(m, { fingerprints, measurementUid: uid ?? undefined });
        expect(String(r.scores.msg ?? "")).not.toMatch(/^Scoring error/);
        JSON.stringify(r.scores);
        const row = buildFastpathRow(m, r, { measurementUid: "u" });
        expect(typeof row.probe_asn).toBe("number");
      }),
      { numRuns: 2000 },
    );
  });
});
