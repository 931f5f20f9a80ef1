import { describe, expect, it } from "vitest";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { FAILED, fp, fpSet, msm, NO_FINGERPRINTS, ZEROS } from "./fixtures";

const gdf = fp({ name: "ooni.it_0", pattern: "GdF Stop Page", expected_countries: ["IT"], scope: "nat" });
const irDns = fp({
  name: "ooni.ir_10dot10_ipv4_1",
  location_found: "dns",
  pattern_type: "full",
  pattern: "10.10.34.36",
  confidence_no_fp: 10,
  expected_countries: ["IR"],
});
const fingerprints = fpSet([irDns], [gdf]);

function wc(testKeys: unknown, extra: Record<string, unknown> = {}) {
  return scoreMeasurement(msm("web_connectivity", testKeys, extra), { fingerprints });
}

describe("web_connectivity", () => {
  it("reports the probe's blocking type", () => {
    for (const blocking of ["tcp_ip", "dns", "http-diff", "http-failure"]) {
      const r = wc({ blocking, accessible: false });
      expect(r.scores).toEqual({ ...ZEROS, blocking_general: 1.0, analysis: { blocking_type: blocking } });
      expect(r).toMatchObject({ anomaly: true, failure: false, confirmed: false, blocking_type: blocking });
    }
  });

  it("is fine when not blocked (false, or 0 which Python treats as False)", () => {
    expect(wc({ blocking: false, accessible: true }).scores).toEqual(ZEROS);
    expect(wc({ blocking: 0, accessible: true }).scores).toEqual(ZEROS);
  });

  it("fails when blocking is null without a match, or accessible is null", () => {
    expect(wc({ blocking: null, accessible: true }).scores).toEqual(FAILED);
    expect(wc({}).scores).toEqual(FAILED);
    expect(wc({ blocking: false, accessible: null }).scores).toEqual(FAILED);
  });

  it("fails on an unsupported blocking value", () => {
    const r = wc({ blocking: "weird", accessible: false });
    expect(r.scores).toEqual({ ...ZEROS, analysis: { msg: "Unsupported blocking type" }, accuracy: 0.0 });
    expect(wc({ blocking: true }).failure).toBe(true);
  });

  it("fails early on a non-boolean title_match", () => {
    expect(wc({ blocking: "dns", title_match: "yes" }).scores).toEqual(FAILED);
    // 1 == True in Python: accepted
    expect(wc({ blocking: false, accessible: true, title_match: 1 }).scores).toEqual(ZEROS);
  });

  it("fails when a *_failure starts with unknown_failure", () => {
    const r = wc({ blocking: "http-failure", http_experiment_failure: "unknown_failure: boom" });
    expect(r.scores).toEqual({ ...ZEROS, blocking_general: 1.0, analysis: { blocking_type: "http-failure" }, accuracy: 0.0 });
  });

  it("confirms a body fingerprint expected in the probe's country", () => {
    const r = wc({ requests: [{ response: { body: "… GdF Stop Page …" } }], blocking: false, accessible: true });
    expect(r.scores).toEqual({
      blocking_general: 1.0,
      blocking_global: 0.0,
      blocking_country: 1.0,
      blocking_isp: 0.0,
      blocking_local: 0.0,
      fingerprints: [
        { name: "ooni.it_0", scope: "nat", location_found: "body", confidence_no_fp: 5, expected_countries: ["IT"] },
      ],
      confirmed: true,
    });
    expect(r).toMatchObject({ anomaly: true, confirmed: true, failure: false });
  });

  it("adds the locality to blocking_general after the probe's verdict (DNS match)", () => {
    const r = wc(
      {
        queries: [{ answers: [{ answer_type: "A", ipv4: "10.10.34.36" }] }],
        blocking: "dns",
        accessible: false,
      },
      { probe_cc: "ir" },
    );
    expect(r.scores.blocking_general).toBe(2.0);
    expect(r.scores.blocking_country).toBe(1.0);
    expect(r.scores.confirmed).toBe(true);
  });

  it("a match keeps a blocking=null measurement good", () => {
    const r = wc({ requests: [{ response: { body: "GdF Stop Page" } }], blocking: null, accessible: null });
    expect(r.failure).toBe(false);
    expect(r.confirmed).toBe(true);
  });

  it("decodes base64 bodies and fails on bad padding", () => {
    const data = Buffer.from("xx GdF Stop Page xx").toString("base64");
    const ok = wc({ requests: [{ response: { body: { format: "base64", data } } }], blocking: false, accessible: true });
    expect(ok.confirmed).toBe(true);
    const bad = wc({ requests: [{ response: { body: { format: "base64", data: "aGk" } } }], blocking: "dns" });
    expect(bad.scores).toEqual({ ...ZEROS, blocking_general: 1.0, analysis: { blocking_type: "dns" }, accuracy: 0.0 });
  });

  it("keeps Web Connectivity 0.5 (LTE) diagnostic flags out of the scores, as upstream", () => {
    const r = wc({ blocking: "dns", accessible: false, x_blocking_flags: 32, x_dns_flags: 2, x_null_null_flags: 1 });
    expect(r.scores).toEqual({ ...ZEROS, blocking_general: 1.0, analysis: { blocking_type: "dns" } });
    expect(r.blocking_type).toBe("dns");
    const d = wc({ blocking: false, accessible: true, x_blocking_flags: 5, x_dns_flags: null });
    expect(d.scores).toEqual(ZEROS);
  });

  it("scores broken shapes as failed instead of throwing", () => {
    const broken = [
      { queries: "nope", blocking: "dns" },
      { queries: [null], blocking: "dns" },
      { queries: [{ answers: [null] }], blocking: "dns" },
      { queries: [{ answers: 5 }], blocking: "dns" },
      { queries: [{ answers: ["ipv4"] }], blocking: "dns" },
      { requests: 5, blocking: "dns" },
      { requests: [5], blocking: "dns" },
      { requests: [{ response: "text" }], blocking: "dns" },
      { requests: [{ response: { body: 42 } }], blocking: "dns" },
      { requests: [{ response: { headers: [["Server", "x"]] } }], blocking: "dns" },
      { blocking: "dns", dns_experiment_failure: { nested: true } },
    ];
    for (const tk of broken) expect(wc(tk).scores, JSON.stringify(tk)).toEqual(FAILED);
  });

  it("tolerates shapes upstream tolerates", () => {
    // requests null (ooni/backend requests_none), a null response, answers without addresses
    expect(wc({ requests: null, blocking: "dns" }).failure).toBe(false);
    expect(wc({ requests: [{ response: null }], blocking: "dns" }).failure).toBe(false);
    expect(wc({ queries: [{ answers: [{ answer_type: "A" }, "cname"] }], blocking: "dns" }).failure).toBe(false);
    expect(wc({ requests: [{ response: { body: { format: "gzip" } } }], blocking: "dns" }).failure).toBe(false);
  });

  it("scores with an empty fingerprint set", () => {
    const r = scoreMeasurement(msm("web_connectivity", { blocking: false, accessible: true }), {
      fingerprints: NO_FINGERPRINTS,
    });
    expect(r.scores).toEqual(ZEROS);
  });
});

describe("http_requests (legacy)", () => {
  const hr = (tk: unknown, extra: Record<string, unknown> = {}) =>
    scoreMeasurement(msm("http_requests", tk, extra), { fingerprints });

  it("is blocked when body length or headers differ", () => {
    expect(hr({ body_length_match: true, headers_match: true }).scores).toEqual(ZEROS);
    expect(hr({ body_length_match: false, headers_match: true }).scores).toEqual({ ...ZEROS, blocking_general: 1.0 });
  });

  it("fails without the comparison keys", () => {
    expect(hr({ body_length_match: null, headers_match: true }).scores).toEqual(FAILED);
    expect(hr({}).scores).toEqual(FAILED);
  });

  it("reads control/experiment failure at the top level, as upstream does", () => {
    expect(hr({ body_length_match: true, headers_match: true }, { control_failure: "x" }).scores).toEqual(FAILED);
    expect(hr({ body_length_match: true, headers_match: true, control_failure: "x" }).scores).toEqual(ZEROS);
  });

  it("matches fingerprints on non-Tor responses only, without adding to blocking_general", () => {
    const r = hr({
      body_length_match: true,
      headers_match: true,
      requests: [
        { request: { tor: { is_tor: true } }, response: { body: "GdF Stop Page" } },
        { request: { tor: { is_tor: false } }, response: { body: "nothing" } },
      ],
    });
    expect(r.scores.fingerprints).toBeUndefined();
    const m = hr({
      body_length_match: true,
      headers_match: true,
      requests: [{ request: { tor: { is_tor: false } }, response: { body: "GdF Stop Page" } }],
    });
    expect(m.scores).toMatchObject({ blocking_general: 0.0, blocking_country: 1.0, confirmed: true });
  });

  it("fails on broken requests", () => {
    for (const requests of [5, [null], [{ request: "x" }], [{ request: { tor: "x" } }], [{ response: "x" }]]) {
      expect(hr({ body_length_match: true, headers_match: true, requests }).scores).toEqual(FAILED);
    }
  });
});
