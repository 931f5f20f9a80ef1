import { describe, expect, it } from "vitest";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { SCORERS } from "../../../origin/src/fastpath/scoring";
import { FAILED, fp, fpSet, msm } from "./fixtures";

// Whatever a probe sends, scoring returns a result: unreadable measurements are failed.

const fingerprints = fpSet(
  [fp({ name: "d", location_found: "dns", pattern_type: "full", pattern: "1.2.3.4" })],
  [fp({ name: "h", location_found: "header.server", pattern_type: "prefix", pattern: "X" }), fp({ name: "b", pattern: "blocked" })],
);

const TEST_NAMES = [...SCORERS.keys()];

describe("broken test_keys are failed, for every test", () => {
  // Upstream's scorers would raise on these (no row at all); we keep the row, as failed.
  const variants: [string, Record<string, unknown>][] = [
    ["test_keys a string", { test_keys: "oops" }],
    ["test_keys a number", { test_keys: 42 }],
    ["test_keys a list", { test_keys: [{ requests: [] }] }],
    ["test_keys true", { test_keys: true }],
  ];
  for (const name of TEST_NAMES) {
    it(name, () => {
      for (const [label, override] of variants) {
        const r = scoreMeasurement({ ...msm(name, {}), ...override }, { fingerprints });
        expect(r.scores, `${name}: ${label}`).toEqual(FAILED);
        expect(r.failure).toBe(true);
      }
    });
  }
});

describe("missing or null test_keys are scored as {}, as upstream", () => {
  for (const name of TEST_NAMES) {
    it(name, () => {
      const asEmpty = scoreMeasurement(msm(name, {}), { fingerprints });
      const { test_keys: _drop, ...missing } = msm(name, {});
      expect(scoreMeasurement(missing, { fingerprints }), `${name}: test_keys missing`).toEqual(asEmpty);
      expect(scoreMeasurement(msm(name, null), { fingerprints }), `${name}: test_keys null`).toEqual(asEmpty);
    });
  }

  it("e.g. ndt scores {} and openvpn keeps its extra", () => {
    expect(scoreMeasurement(msm("ndt", null), { fingerprints }).scores).toEqual({});
    const { test_keys: _drop, ...openvpn } = msm("openvpn", {}, { test_runtime: 1.5 });
    expect(scoreMeasurement(openvpn, { fingerprints }).scores).toEqual({ ...FAILED, extra: { test_runtime: 1.5 } });
  });
});

describe("nested garbage never throws", () => {
  const junk: unknown[] = [null, true, 0, -1.5, "", "x", [], [null], [1, "a"], {}, { a: null }, [[[]]], { format: "base64", data: "@@" }];
  const keys = [
    "requests",
    "queries",
    "tcp_connect",
    "targets",
    "sent",
    "received",
    "failure",
    "blocking",
    "accessible",
    "title_match",
    "tor_logs",
    "tor_progress",
    "connection",
    "success",
    "result",
    "x_blocking_flags",
    "http_experiment_failure",
    "signal_backend_status",
    "whatsapp_web_failure",
    "body_length_match",
    "headers_match",
  ];
  for (const name of TEST_NAMES) {
    it(name, () => {
      for (const key of keys) {
        for (const value of junk) {
          const m = msm(name, { [key]: value, requests: [{ request: { url: value }, response: { body: value, headers: { Server: value } } }] });
          const r = scoreMeasurement(m, { fingerprints });
          // Handled by the scorer itself, not by the safety net.
          expect(String(r.scores.msg ?? ""), `${name} ${key}=${JSON.stringify(value)}`).not.toMatch(/^Scoring error/);
        }
      }
    });
  }
});

describe("safety net", () => {
  it("a scorer that throws yields a failed result with a message", () => {
    const scorers = SCORERS as Map<string, () => never>;
    scorers.set("explodes", () => {
      throw new Error("boom");
    });
    try {
      const r = scoreMeasurement(msm("explodes", {}), { fingerprints });
      expect(r.scores).toEqual({ ...FAILED, msg: "Scoring error: boom" });
      expect(r.failure).toBe(true);
    } finally {
      scorers.delete("explodes");
    }
  });
});

describe("unreadable measurements", () => {
  it("non-objects, missing or odd test names", () => {
    for (const m of [null, undefined, 5, "text", [], [msm("web_connectivity", {})], { test_keys: {} }, { test_name: 5, test_keys: {} }]) {
      const r = scoreMeasurement(m, { fingerprints });
      expect(r.scores).toEqual(FAILED);
      expect(r).toMatchObject({ failure: true, anomaly: false, confirmed: false, blocking_type: "" });
    }
  });

  it("prototype keys are not test keys", () => {
    const m = JSON.parse('{"test_name":"constructor","test_keys":{"__proto__":{"blocking":"dns"}}}');
    expect(scoreMeasurement(m, { fingerprints }).scores).toEqual(FAILED);
    const wc = JSON.parse('{"test_name":"web_connectivity","test_keys":{"__proto__":{"blocking":"dns"}}}');
    expect(scoreMeasurement(wc, { fingerprints }).scores).toEqual(FAILED);
  });

  it("an envelope is unwrapped; unreadable envelope content is failed", () => {
    const inner = msm("tcp_connect", { connection: "success" }, { input: "1.1.1.1:53" });
    expect(scoreMeasurement({ format: "json", content: inner }, { fingerprints }).failure).toBe(false);
    expect(scoreMeasurement({ format: "json", content: JSON.stringify(inner) }, { fingerprints }).failure).toBe(false);
    expect(scoreMeasurement({ format: "json", content: "{not json" }, { fingerprints }).scores).toEqual(FAILED);
    expect(scoreMeasurement({ format: "xml", content: "<a/>" }, { fingerprints }).scores).toEqual(FAILED);
  });
});
