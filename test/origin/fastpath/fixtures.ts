import { buildFingerprintSet } from "../../../origin/src/fastpath/fingerprints";
import type { Fingerprint, FingerprintSet, MatchSemantics } from "../../../origin/src/fastpath/fingerprints";

/** A fingerprint with test defaults (scope nat, body contains, no expected country). */
export function fp(fields: Partial<Fingerprint> & { name: string; pattern: string }): Fingerprint {
  return {
    scope: "nat",
    other_names: "",
    location_found: "body",
    pattern_type: "contains",
    confidence_no_fp: 5,
    expected_countries: [],
    source: "",
    exp_url: "",
    notes: "",
    ...fields,
  };
}

export function fpSet(
  dns: Fingerprint[],
  http: Fingerprint[],
  semantics: MatchSemantics = "fastpath",
): FingerprintSet {
  return buildFingerprintSet(dns, http, { semantics });
}

export const NO_FINGERPRINTS = buildFingerprintSet([], []);

/** A minimal measurement of `test_name` with the given test keys. */
export function msm(testName: string, testKeys: unknown, extra: Record<string, unknown> = {}) {
  return {
    probe_cc: "IT",
    probe_asn: "AS30722",
    test_name: testName,
    measurement_start_time: "2024-02-14 09:06:17",
    test_start_time: "2024-02-14 09:06:16",
    report_id: "20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD",
    input: null,
    test_keys: testKeys,
    ...extra,
  };
}

export const ZEROS = {
  blocking_general: 0.0,
  blocking_global: 0.0,
  blocking_country: 0.0,
  blocking_isp: 0.0,
  blocking_local: 0.0,
};

export const FAILED = { ...ZEROS, accuracy: 0.0 };
