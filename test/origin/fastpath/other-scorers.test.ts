import { describe, expect, it } from "vitest";
import { scoreMeasurement } from "../../../origin/src/fastpath/score";
import { FAILED, msm, NO_FINGERPRINTS, ZEROS } from "./fixtures";

const score = (name: string, tk: unknown, extra: Record<string, unknown> = {}) =>
  scoreMeasurement(msm(name, tk, extra), { fingerprints: NO_FINGERPRINTS });

describe("http_header_field_manipulation", () => {
  const sent = { "User-Agent": "x", "Accept-Language": "en", Connection: "close" };
  const echo = (headers: Record<string, string[]>) => JSON.stringify({ headers_dict: headers, request_line: "GET / HTTP/1.1" });
  const hhfm = (body: unknown, headers: unknown = sent) =>
    score("http_header_field_manipulation", { requests: [{ request: { headers }, response: { body } }] });

  it("is fine when the helper saw the headers sent", () => {
    expect(hhfm(echo({ "User-Agent": ["x"], "Accept-Language": ["en"] })).scores).toEqual(ZEROS);
  });

  it("scores 1.1 with the count of changed headers", () => {
    const r = hhfm(echo({ "user-agent": ["x"], "Accept-Language": ["en"], Via: ["proxy"] }));
    expect(r.scores).toEqual({ ...ZEROS, blocking_general: 1.1, msg: "3 unexpected header change" });
  });

  it("is total tampering without a body, 1.0 on a malformed echo", () => {
    expect(hhfm(null).scores).toEqual({ ...ZEROS, total_tampering: true, blocking_general: 1.0, msg: "Empty body" });
    expect(hhfm("<html>").scores).toEqual({ ...ZEROS, blocking_general: 1.0, msg: "Malformed ctrl_headers" });
    expect(hhfm(JSON.stringify([1])).scores.msg).toBe("Malformed ctrl_headers");
    expect(hhfm({ format: "base64", data: "" }).scores.msg).toBe("Malformed ctrl_headers");
  });

  it("fails when requests are missing, null, empty or broken", () => {
    for (const tk of [{}, { requests: null }, { requests: [] }, { requests: [null] }, { requests: "x" }, { requests: [{ response: null }] }]) {
      expect(score("http_header_field_manipulation", tk).scores, JSON.stringify(tk)).toEqual(FAILED);
    }
    expect(hhfm(echo({ a: [] })).scores).toEqual(FAILED);
    expect(hhfm(JSON.stringify({ headers_dict: null })).scores).toEqual(FAILED);
    expect(hhfm(echo({ a: ["1"] }), null).scores).toEqual(FAILED);
    expect(hhfm(echo({ a: ["1"] }), { a: ["list"] }).scores).toEqual(FAILED);
  });
});

describe("http_invalid_request_line", () => {
  it("is an anomaly when a received line differs from the sent one", () => {
    expect(score("http_invalid_request_line", { sent: ["a", "b"], received: ["a", "b"] }).scores).toEqual(ZEROS);
    expect(score("http_invalid_request_line", { sent: ["a", "b"], received: ["a", "c"] }).scores).toEqual({
      ...ZEROS,
      blocking_general: 1.0,
    });
    // only the common prefix is compared
    expect(score("http_invalid_request_line", { sent: ["a"], received: ["a", "x"] }).scores).toEqual(ZEROS);
  });

  it("fails with nothing sent or received, or unsized values", () => {
    expect(score("http_invalid_request_line", {}).scores).toEqual(FAILED);
    expect(score("http_invalid_request_line", { sent: [], received: "" }).scores).toEqual(FAILED);
    expect(score("http_invalid_request_line", { sent: null, received: ["a"] }).scores).toEqual(FAILED);
    expect(score("http_invalid_request_line", { sent: ["a"], received: 5 }).scores).toEqual(FAILED);
  });
});

describe("vanilla_tor", () => {
  it("is fine when bootstrapped", () => {
    expect(score("vanilla_tor", { tor_logs: ["Bootstrapped 100% (done): Done"], tor_progress: 100 }).scores).toEqual(ZEROS);
    expect(score("vanilla_tor", { tor_logs: "… Bootstrapped 100%: Done …", tor_progress: 10 }).scores).toEqual(ZEROS);
    expect(score("vanilla_tor", { tor_logs: [], tor_log: "x", tor_progress: "100" }).scores).toEqual(ZEROS);
  });

  it("scores 1 − progress × 0.004", () => {
    expect(score("vanilla_tor", { tor_logs: ["x"], tor_progress: 5 }).scores.blocking_general).toBe(1.0 - 5 * 0.004);
    expect(score("vanilla_tor", { tor_logs: ["x"], tor_progress: 80 }).scores.blocking_general).toBeCloseTo(0.68, 12);
    expect(score("vanilla_tor", { tor_logs: ["x"] }).scores.blocking_general).toBe(1.0);
    expect(score("vanilla_tor", { tor_logs: ["x"], tor_progress: -3 }).scores.blocking_general).toBe(1.0);
  });

  it("fails without logs or with an unreadable progress", () => {
    expect(score("vanilla_tor", {}).scores).toEqual(FAILED);
    expect(score("vanilla_tor", { tor_logs: ["x"], tor_progress: null }).scores).toEqual(FAILED);
    expect(score("vanilla_tor", { tor_logs: ["x"], tor_progress: "abc" }).scores).toEqual(FAILED);
    expect(score("vanilla_tor", { tor_logs: 5 }).scores).toEqual(FAILED);
  });
});

describe("tor", () => {
  const target = (failure: unknown) => ({ failure, network_events: [] });

  it("scores the share of failed targets among those that ran", () => {
    const r = score("tor", { targets: { a: target(null), b: target("timeout"), c: target(false), d: target(null) } }, { test_runtime: 1.5 });
    expect(r.scores).toEqual({ ...ZEROS, blocking_general: 1 / 3, extra: { test_runtime: 1.5 } });
    expect(score("tor", { targets: { a: target(null) } }).scores.extra).toEqual({ test_runtime: null });
  });

  it("fails without targets, with a list, or when nothing ran", () => {
    expect(score("tor", {}).scores).toEqual(FAILED);
    expect(score("tor", { targets: [] }).scores).toEqual(FAILED);
    expect(score("tor", { targets: [target(null)] }).scores).toEqual(FAILED);
    expect(score("tor", { targets: { a: { failure: null } } }).scores).toEqual(FAILED);
    expect(score("tor", { targets: { a: target("") } }).scores).toEqual(FAILED);
    expect(score("tor", { targets: "x" }).scores).toEqual(FAILED);
    expect(score("tor", { targets: { a: target(false) } }, { test_runtime: 2 }).scores).toEqual({
      ...FAILED,
      extra: { test_runtime: 2 },
    });
  });
});

describe("torsf", () => {
  it("is blocked on failure, otherwise reports times", () => {
    expect(score("torsf", { failure: "generic_timeout_error" }).scores).toEqual({ ...ZEROS, blocking_general: 1.0 });
    expect(score("torsf", { failure: null, bootstrap_time: 78.9 }, { test_runtime: 79.1 }).scores).toEqual({
      ...ZEROS,
      extra: { bootstrap_time: 78.9, test_runtime: 79.1 },
    });
  });

  it("fails for ooniprobe-android 3.8.3", () => {
    const r = score("torsf", { failure: null }, { software_name: "ooniprobe-android-unattended", software_version: "3.8.3" });
    expect(r.scores).toEqual(FAILED);
    expect(score("torsf", { failure: null }, { software_name: null, software_version: "3.8.3" }).scores).toEqual(FAILED);
  });
});

describe("psiphon", () => {
  it("is blocked on failure and reports times", () => {
    expect(score("psiphon", { failure: "x", bootstrap_time: 0 }, { resolver_ip: "1.1.1.1", test_runtime: 3 }).scores).toEqual({
      ...ZEROS,
      accuracy: 1.0,
      blocking_general: 1.0,
      extra: { test_runtime: 3, bootstrap_time: 0 },
    });
    expect(score("psiphon", { failure: null, bootstrap_time: 2.5 }, { resolver_ip: "1.1.1.1", test_runtime: 3 }).scores).toEqual({
      ...ZEROS,
      accuracy: 1.0,
      extra: { test_runtime: 3, bootstrap_time: 2.5 },
    });
  });

  it("fails on success without bootstrap time, or without resolver_ip", () => {
    expect(score("psiphon", { failure: null }, { resolver_ip: "1.1.1.1" }).failure).toBe(true);
    expect(score("psiphon", { failure: null, bootstrap_time: 2 }).failure).toBe(true);
  });
});

describe("meek_fronted_requests_test", () => {
  const resp = (code: unknown, headers: unknown) => ({ response: { code, headers } });

  it("is fine with 200 responses served by ECAcc", () => {
    expect(score("meek_fronted_requests_test", { requests: [resp(200, { Server: "ECAcc (bsa/1234)" })] }).scores).toEqual(ZEROS);
    expect(score("meek_fronted_requests_test", { requests: [resp(200, [["Server", ["ECAcc (x)"]]])] }).scores).toEqual(ZEROS);
  });

  it("adds 0.5 per response from another server, 1.0 on a failed request", () => {
    expect(score("meek_fronted_requests_test", { requests: [resp(200, {})] }).scores.blocking_general).toBe(0.5);
    expect(score("meek_fronted_requests_test", { requests: [resp(404, {})] }).scores.blocking_general).toBe(1.0);
    expect(score("meek_fronted_requests_test", { requests: [{ response: null }] }).scores.blocking_general).toBe(1.0);
  });

  it("is blocked and failed without requests", () => {
    expect(score("meek_fronted_requests_test", { requests: null }).scores).toEqual({ ...ZEROS, blocking_general: 1.0, accuracy: 0 });
  });

  it("fails on broken shapes", () => {
    for (const requests of [5, [null], [{ response: "x" }], [resp(200, null)], [resp(200, { Server: null })], [resp(200, [["Server"]])]]) {
      expect(score("meek_fronted_requests_test", { requests }).scores, JSON.stringify(requests)).toEqual(FAILED);
    }
  });
});

describe("tcp_connect", () => {
  const tcp = (connection: unknown) => score("tcp_connect", { connection }, { input: "1.2.3.4:443" });

  it("scores known errors 0.8, others 1.0", () => {
    expect(tcp("success").scores).toEqual(ZEROS);
    for (const e of ["generic_timeout_error", "connection_refused_error", "connect_error", "tcp_timed_out_error"]) {
      expect(tcp(e).scores.blocking_general).toBe(0.8);
    }
    expect(tcp("connection_reset").scores.blocking_general).toBe(1.0);
    expect(tcp(null).scores.blocking_general).toBe(1.0);
  });

  it("fails without an input", () => {
    expect(score("tcp_connect", { connection: "success" }).scores).toEqual(FAILED);
  });
});

describe("dash", () => {
  it("is fine without failure", () => {
    expect(score("dash", { failure: null, simple: {} }).scores).toEqual(ZEROS);
  });

  it("scores network failures 0.1 and failed, other failures as probe errors", () => {
    expect(score("dash", { failure: "eof_error" }).scores).toEqual({ ...ZEROS, blocking_general: 0.1, accuracy: 0.0 });
    expect(score("dash", { failure: "ssl_error: bad cert" }).scores).toEqual({ ...ZEROS, blocking_general: 0.1, accuracy: 0.0 });
    expect(score("dash", { failure: "weird" }).scores).toEqual({ ...ZEROS, msg: "Probe error", accuracy: 0.0 });
  });

  it("fails on empty test keys or a non-text failure", () => {
    expect(score("dash", {}).scores).toEqual(FAILED);
    expect(score("dash", { failure: 3 }).scores).toEqual(FAILED);
  });
});

describe("stunreachability", () => {
  it("reports the endpoint, and the failure when blocked", () => {
    expect(score("stunreachability", { endpoint: "stun.l.google.com:19302", failure: null }).scores).toEqual({
      ...ZEROS,
      extra: { endpoint: "stun.l.google.com:19302" },
    });
    expect(score("stunreachability", { failure: "boo" }).scores).toEqual({
      ...ZEROS,
      blocking_general: 1.0,
      extra: { endpoint: null, failure: "boo" },
    });
  });
});

describe("openvpn, browser_web, riseupvpn, ndt, dns_consistency", () => {
  it("openvpn: blocked on success false, failed on success missing", () => {
    expect(score("openvpn", { success: true }, { test_runtime: 3 }).scores).toEqual({ ...ZEROS, extra: { test_runtime: 3 } });
    expect(score("openvpn", { success: false }).scores).toEqual({ ...ZEROS, blocking_general: 1.0, extra: { test_runtime: null } });
    expect(score("openvpn", {}).scores).toEqual({ ...FAILED, extra: { test_runtime: null } });
  });

  it("browser_web: ok, error, anything else failed", () => {
    const extra = { browser_name: "chrome", load_time_ms: 680 };
    expect(score("browser_web", { result: "ok", ...extra }).scores).toEqual({ ...ZEROS, extra });
    expect(score("browser_web", { result: "error", ...extra }).scores).toEqual({ ...ZEROS, blocking_general: 1.0, extra });
    expect(score("browser_web", {}).scores).toEqual({ ...FAILED, extra: { browser_name: "", load_time_ms: 0 } });
  });

  it("riseupvpn and ndt are not scored; dns_consistency is zeros", () => {
    expect(score("riseupvpn", { api_status: "blocked" }).scores).toEqual({});
    expect(score("ndt", { download: 1 }).scores).toEqual({});
    expect(score("dns_consistency", { inconsistent: ["8.8.8.8"] }).scores).toEqual(ZEROS);
    const r = score("riseupvpn", {});
    expect(r).toMatchObject({ anomaly: false, failure: false, confirmed: false, blocking_type: "" });
  });

  it("unknown test names are failed", () => {
    expect(score("dnscheck", {}).scores).toEqual(FAILED);
    expect(score("web_connectivity@v0.5", {}).scores).toEqual(FAILED);
  });
});
