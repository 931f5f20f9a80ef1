import { describe, expect, it } from "vitest";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { FAILED, msm, NO_FINGERPRINTS, ZEROS } from "./fixtures";

const score = (name: string, tk: unknown, extra: Record<string, unknown> = {}) =>
  scoreMeasurement(msm(name, tk, extra), { fingerprints: NO_FINGERPRINTS });

describe("telegram", () => {
  const tcp = (ok: boolean) => ({ ip: "149.154.175.50", port: 443, status: { success: ok, failure: ok ? null : "x" } });
  const req = (url: string, failure: string | null) => ({ request: { url }, failure });

  it("adds unreachable TCP share, failed HTTP share and web blocking", () => {
    const r = score("telegram", {
      tcp_connect: [tcp(true), tcp(false), tcp(false), tcp(true)],
      requests: [
        req("http://149.154.175.50/", null),
        req("http://149.154.175.51/", "connection_reset"),
        req("http://149.154.175.52/", null),
        req("https://web.telegram.org/", "generic_timeout_error"),
      ],
      telegram_web_status: "blocked",
    });
    expect(r.scores).toEqual({
      ...ZEROS,
      blocking_general: 0.5 + 1 / 3 + 1,
      web_failure: "generic_timeout_error",
      accessible_endpoints: 2,
      unreachable_endpoints: 2,
      http_success_cnt: 2,
      http_failure_cnt: 1,
      msg: "failure: generic_timeout_error",
    });
    expect(r.anomaly).toBe(true);
  });

  it("uses 0.5 for each half without data (as upstream: empty test keys are an anomaly)", () => {
    const r = score("telegram", {});
    expect(r.scores).toEqual({
      ...ZEROS,
      blocking_general: 1.0,
      web_failure: null,
      accessible_endpoints: 0,
      unreachable_endpoints: 0,
      http_success_cnt: 0,
      http_failure_cnt: 0,
    });
    expect(score("telegram", { requests: null, tcp_connect: [tcp(true)] }).scores.blocking_general).toBe(0.5);
  });

  it("fails on a request without request.url, or other broken shapes", () => {
    expect(score("telegram", { requests: [{ failure: null }] }).scores).toEqual(FAILED);
    expect(score("telegram", { requests: [{ request: {}, failure: null }] }).scores).toEqual(FAILED);
    expect(score("telegram", { requests: [{ request: null }] }).scores).toEqual(FAILED);
    expect(score("telegram", { requests: [{ request: { url: "http://x/" } }] }).scores).toEqual(FAILED);
    expect(score("telegram", { requests: "abc" }).scores).toEqual(FAILED);
    expect(score("telegram", { tcp_connect: [null] }).scores).toEqual(FAILED);
    expect(score("telegram", { tcp_connect: [{ status: "ok" }] }).scores).toEqual(FAILED);
    expect(score("telegram", { tcp_connect: 7 }).scores).toEqual(FAILED);
  });
});

describe("facebook_messenger", () => {
  const allGood = {
    facebook_b_api_dns_consistent: true,
    facebook_b_api_reachable: true,
    facebook_b_graph_dns_consistent: true,
    facebook_b_graph_reachable: true,
    facebook_edge_dns_consistent: true,
    facebook_edge_reachable: true,
    facebook_star_dns_consistent: true,
    facebook_star_reachable: true,
    facebook_stun_dns_consistent: true,
    facebook_tcp_blocking: false,
    facebook_dns_blocking: false,
  };

  it("is fine when everything is consistent", () => {
    expect(score("facebook_messenger", allGood).scores).toEqual(ZEROS);
  });

  it("ignores the known facebook_dns_blocking false positive", () => {
    expect(score("facebook_messenger", { ...allGood, facebook_dns_blocking: true }).scores).toEqual(ZEROS);
  });

  it("adds 0.5 per inconsistent or blocking key and records them", () => {
    const r = score("facebook_messenger", {
      ...allGood,
      facebook_edge_reachable: false,
      facebook_tcp_blocking: true,
    });
    expect(r.scores).toEqual({ ...ZEROS, blocking_general: 1.0, facebook_edge_reachable: false, facebook_tcp_blocking: true });
    expect(r.anomaly).toBe(true);
  });

  it("only counts strict booleans", () => {
    expect(score("facebook_messenger", { facebook_edge_reachable: 0, facebook_tcp_blocking: 1 }).scores).toEqual(ZEROS);
  });
});

describe("whatsapp", () => {
  const web = (failure: unknown) => ({ request: { url: "https://web.whatsapp.com/" }, failure });
  const reg = (failure: unknown) => ({ request: { url: "https://v.whatsapp.net/v2/register" }, failure });
  const ep = (ok: boolean) => ({ ip: "1.2.3.4", port: 443, status: { success: ok } });

  it("is fine when web, registration and an endpoint are reachable", () => {
    const r = score("whatsapp", { requests: [web(null), reg(null)], tcp_connect: [ep(false), ep(true)] });
    expect(r.scores).toEqual({
      ...ZEROS,
      analysis: {
        registration_server_accessible: true,
        whatsapp_web_accessible: true,
        whatsapp_endpoints_accessible: true,
      },
    });
  });

  it("is blocked when web or registration failed", () => {
    expect(score("whatsapp", { requests: [web("eof_error"), reg(null)] }).scores).toEqual({ ...ZEROS, blocking_general: 1.0 });
    expect(score("whatsapp", { requests: [web(null), reg("x")] }).scores).toEqual({ ...ZEROS, blocking_general: 1.0 });
  });

  it("is blocked when no endpoint is reachable, failed when none was tried", () => {
    const blocked = score("whatsapp", { requests: [web(""), reg(null)], tcp_connect: [ep(false)] });
    expect(blocked.scores.blocking_general).toBe(1.0);
    expect(blocked.scores.analysis).toMatchObject({ whatsapp_endpoints_accessible: false });
    const none = score("whatsapp", { requests: [web(false), reg(null)], tcp_connect: [] });
    expect(none.scores.accuracy).toBe(0.0);
    expect(none.failure).toBe(true);
  });

  it("fails without requests, without both URLs, or on unknown failures", () => {
    expect(score("whatsapp", {}).scores).toEqual(FAILED);
    expect(score("whatsapp", { requests: null }).scores).toEqual(FAILED);
    expect(score("whatsapp", { requests: [web(null)] }).scores).toEqual(FAILED);
    expect(score("whatsapp", { whatsapp_web_failure: "unknown_failure 'ascii' codec can't decode" }).scores).toEqual(FAILED);
    const unknown = score("whatsapp", { registration_server_failure: "unknown_failure x", requests: [web(null), reg(null)] });
    expect(unknown.failure).toBe(true);
  });

  it("fails on broken shapes", () => {
    expect(score("whatsapp", { requests: [null] }).scores).toEqual(FAILED);
    expect(score("whatsapp", { requests: [{ request: null }] }).scores).toEqual(FAILED);
    expect(score("whatsapp", { requests: 3 }).scores).toEqual(FAILED);
    expect(score("whatsapp", { requests: [web(null), reg(null)], tcp_connect: ["x"] }).scores).toEqual(FAILED);
  });
});

describe("signal", () => {
  const base = {
    measurement_start_time: "2023-12-01 10:00:00",
    test_version: "0.2.5",
    annotations: { engine_version: "3.20.0" },
  };
  const ok = { failed_operation: null, failure: null, signal_backend_status: "ok" };

  it("is fine when the backend is reachable", () => {
    expect(score("signal", ok, base).scores).toEqual(ZEROS);
  });

  it("is blocked with the backend failure as analysis", () => {
    const r = score("signal", { ...ok, signal_backend_status: "blocked", signal_backend_failure: "connection_reset" }, base);
    expect(r.scores).toEqual({ ...ZEROS, blocking_general: 1.0, analysis: { signal_backend_failure: "connection_reset" } });
  });

  it("fails when the probe reports a failure or an unknown status", () => {
    expect(score("signal", { ...ok, failure: "x" }, base).failure).toBe(true);
    expect(score("signal", { signal_backend_status: "ok" }, base).failure).toBe(true); // missing keys count as failure
    expect(score("signal", { ...ok, signal_backend_status: "?" }, base).failure).toBe(true);
  });

  it("applies the release/date rules", () => {
    const cases: [Record<string, unknown>, boolean][] = [
      [{ test_version: "0.2.4" }, true],
      [{ test_version: "0.2.3", measurement_start_time: "2023-11-07 00:00:00" }, true],
      [{ test_version: "0.2.3", measurement_start_time: "2023-11-06 23:59:59", annotations: { engine_version: "3.18.0" } }, false],
      [{ test_version: "0.2.1", measurement_start_time: "2022-10-19 00:00:00", annotations: { engine_version: "3.0.0" } }, true],
      [{ test_version: "0.2.1", measurement_start_time: "2022-10-18 23:59:59", annotations: { engine_version: "3.0.0" } }, false],
      [{ annotations: { engine_version: "3.17.1" }, measurement_start_time: "2023-05-02 00:00:00", test_version: "0.2.2" }, true],
      [{ annotations: { engine_version: "3.17.2-alpha" }, measurement_start_time: "2023-06-01 00:00:00", test_version: "0.2.2" }, true],
      [{ annotations: { engine_version: "3.17.2" }, measurement_start_time: "2023-06-01 00:00:00", test_version: "0.2.2" }, false],
      [{ annotations: { engine_version: "not a version" } }, true],
      [{ test_version: 2 }, true],
      [{ annotations: "x" }, true],
      [{ measurement_start_time: null }, true],
      [{ measurement_start_time: "yesterday" }, true],
    ];
    for (const [override, broken] of cases) {
      const r = score("signal", ok, { ...base, ...override });
      expect(r.failure, JSON.stringify(override)).toBe(broken);
      if (broken) expect(r.scores).toEqual(FAILED);
    }
  });
});
