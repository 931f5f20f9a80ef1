import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { observe, OBSERVED_TESTS, type MeasurementObservations } from "../../../origin/src/observations";
import { requestLineIndex } from "../../../origin/src/observations/nettests/http-invalid-request-line";
import { resolveTargetId } from "../../../origin/src/observations/nettests/targets";
import { corpusAvailable, corpusDir, corpusPath } from "../../support/corpus";

// The transformations of the tests other than web_connectivity (origin/src/observations/nettests/),
// one by one on the corpus's real measurements; conformance-nettests.test.ts compares them all,
// field by field, with upstream's.

const UID = "20240101000000.000000_XX_signal_0123456789abcdef";

type Msm = Record<string, unknown> & { test_keys: Record<string, unknown> };
const load = (file: string): Msm => JSON.parse(readFileSync(corpusPath("measurements", file), "utf8")) as Msm;

function observed(msm: Msm): MeasurementObservations {
  const r = observe(msm, UID);
  if (r.kind !== "ok") throw new Error(JSON.stringify(r));
  return r.observations;
}

describe("dispatch by test_name", () => {
  it("covers exactly the tests upstream's pipeline has transformers for", () => {
    expect([...OBSERVED_TESTS].sort()).toEqual(
      [
        "browser_web", "dnscheck", "echcheck", "facebook_messenger", "http_header_field_manipulation", "http_invalid_request_line",
        "signal", "stunreachability", "telegram", "tor", "urlgetter", "web_connectivity", "whatsapp",
      ].sort(),
    );
    expect(observe({ test_name: "ndt", test_keys: {} }, UID)).toEqual({ kind: "none" });
  });

  it("a measurement upstream's loader rejects (a required key missing) gets no rows", () => {
    expect(observe({ test_name: "urlgetter", test_keys: {} }, UID)).toMatchObject({ kind: "failed", error: "missing field input" });
  });
});

describe("IM targets", () => {
  it("are named by role, across renames; Telegram's datacentres by address", () => {
    expect(resolveTargetId("signal", "chat.signal.org", null)).toBe("signal/chat");
    expect(resolveTargetId("signal", "textsecure-service.whispersystems.org", "1.2.3.4")).toBe("signal/chat");
    expect(resolveTargetId("signal", "cdn3.signal.org", null)).toBe("signal/cdn");
    expect(resolveTargetId("whatsapp", "e16.whatsapp.net", null)).toBe("whatsapp/endpoints");
    expect(resolveTargetId("telegram", null, "149.154.175.50")).toBe("telegram/dc_pool");
    expect(resolveTargetId("telegram", "example.org", null)).toBeNull();
    expect(resolveTargetId("whatsapp", null, "149.154.175.50")).toBeNull();
  });
});

describe("http_invalid_request_line's request lines", () => {
  it("are told apart by shape", () => {
    expect(requestLineIndex("XJ2K / HTTP/1.1\n\r")).toBe(0);
    expect(requestLineIndex("AAAAA BBBBB CCCCC DDDDD\n\r")).toBe(1);
    expect(requestLineIndex(`${"X".repeat(1024)} / HTTP/1.1\n\r`)).toBe(2);
    expect(requestLineIndex("GET / HTTP/D9S")).toBe(3);
    expect(requestLineIndex("GET cache_object://localhost/ HTTP/1.0\n\r")).toBe(4);
    expect(() => requestLineIndex("OPTIONS /x HTTP/1.1")).toThrow(/unable to guess/);
  });
});

const suite = corpusAvailable ? describe : describe.skip;

suite(`other tests' observations of the corpus (${corpusDir})`, () => {
  it("signal: rows tagged by service; chains checked against Signal's own roots at the measurement's time", () => {
    const o = observed(load("signal_2627.json"));
    expect(o.ctrl).toEqual([]);
    expect(o.middlebox).toEqual([]);
    expect(o.web.map((r) => r.observation_idx)).toEqual(o.web.map((_, i) => i + 1));
    const storage = o.web[0]!;
    expect(storage).toMatchObject({ test_name: "signal", target_id: "signal/storage", hostname: "storage.signal.org", ip: "172.217.17.147", port: 443, tcp_success: 1 });
    // The probe validated against the public roots (ssl_unknown_authority); Signal's root vouches for it.
    expect(storage.tls_failure).toBe("ssl_unknown_authority");
    expect(storage.tls_is_certificate_valid).toBe(1);
    expect(storage.tls_end_entity_certificate_issuer).toMatch(/^CN=.*,C=US$/);
    expect(new Set(o.web.map((r) => r.target_id))).toEqual(new Set(["signal/storage", "signal/cdn", "signal/directory", "signal/chat", "signal/sfu", "signal/uptime"]));

    // Ten years later every root has expired: no chain is valid any more.
    const later = observed({ ...load("signal_2627.json"), measurement_start_time: "2040-01-01 00:00:00" });
    const checked = later.web.filter((r) => r.tls_is_certificate_valid !== null);
    expect(checked.length).toBeGreaterThan(3);
    expect(checked.every((r) => r.tls_is_certificate_valid === 0)).toBe(true);
  });

  it("whatsapp: endpoint pool and services as targets, TCP-only rows on ports 443 and 5222", () => {
    const o = observed(load("whatsapp.json"));
    expect(o.web.length).toBeGreaterThan(100);
    expect(o.web[0]).toMatchObject({ target_id: "whatsapp/endpoints", hostname: "e11.whatsapp.net", ip: "15.197.210.208", port: 5222, tcp_success: 1 });
    const targets = new Set(o.web.map((r) => r.target_id));
    for (const t of ["whatsapp/endpoints", "whatsapp/registration", "whatsapp/web"]) expect(targets.has(t)).toBe(true);
  });

  it("telegram: datacentre connects (no DNS) are the dc_pool target", () => {
    const o = observed({ ...load("telegram_nourl.json"), input: null });
    const dc = o.web.filter((r) => r.dns_query_type === null && r.tcp_success !== null);
    expect(dc.length).toBe(12);
    expect(dc.every((r) => r.target_id === "telegram/dc_pool" && r.hostname === null)).toBe(true);
  });

  it("tor: each target paired on its own, tagged with its key, one observation_idx sequence", () => {
    const msm: Msm = { ...load("tor.json"), input: null };
    const o = observed(msm);
    const keys = Object.keys(msm.test_keys.targets as object);
    expect([...new Set(o.web.map((r) => r.target_id))]).toEqual(keys);
    expect(o.web.map((r) => r.observation_idx)).toEqual(o.web.map((_, i) => i + 1));
    expect(o.web.every((r) => r.resolver_ip === "" || r.resolver_ip === String(msm.resolver_ip))).toBe(true);
  });

  it("browser_web: one row with the page load's outcome and duration", () => {
    const msm = load("browser_web.json");
    const o = observed(msm);
    expect(o.web).toHaveLength(1);
    expect(o.web[0]).toMatchObject({ observation_idx: 0, http_failure: "ok", http_runtime: msm.test_keys.load_time_ms, ip: null, hostname: null });
  });

  it("http_invalid_request_line: the lines that came back changed, each in its probe's column", () => {
    const msm = load("mbx-1.json");
    const o = observed(msm);
    expect(o.web).toEqual([]);
    expect(o.middlebox).toHaveLength(1);
    const r = o.middlebox[0]!;
    const sent = msm.test_keys.sent as string[];
    const received = msm.test_keys.received as string[];
    expect(r).toMatchObject({ observation_idx: 1, hirl_success: 1, hirl_failure: null, test_name: "http_invalid_request_line" });
    // sent[3] (four random fields) was echoed unchanged: column 1 stays empty.
    expect(sent[3]).toBe(received[3]);
    expect(r.hirl_sent_1).toBeNull();
    expect([r.hirl_sent_4, r.hirl_received_4]).toEqual([sent[0], received[0]]);
    expect([r.hirl_sent_3, r.hirl_received_3]).toEqual([sent[1], received[1]]);
    expect([r.hirl_sent_2, r.hirl_received_2]).toEqual([sent[2], received[2]]);
    expect([r.hirl_sent_0, r.hirl_received_0]).toEqual([sent[4], received[4]]);

    const short = observed({ ...msm, test_keys: { ...msm.test_keys, received: received.slice(0, 2) } }).middlebox[0]!;
    expect(short).toMatchObject({ hirl_success: 0, hirl_failure: "missing_received_2" });
    expect(observed({ ...msm, test_keys: { ...msm.test_keys, sent: [] } }).middlebox[0]).toMatchObject({ hirl_success: 0, hirl_failure: "missing_sent" });
  });

  it("http_header_field_manipulation: why there is no echo to compare", () => {
    const msm = load("http_header_field_manipulation_1.json");
    expect(observed(msm).middlebox[0]).toMatchObject({ hfm_success: 0, hfm_failure: "missing_requests", hirl_success: null });
    const tx = { request: { headers: { Host: "example.org" }, url: "http://example.org/" }, response: { body: '{"headers_dict": {}}', code: 200 } };
    expect(observed({ ...msm, test_keys: { requests: [tx] } }).middlebox[0]).toMatchObject({ hfm_success: 1, hfm_failure: null, hfm_diff: null });
    expect(observed({ ...msm, test_keys: { requests: [{ ...tx, response: null, failure: "connection_reset" }] } }).middlebox[0]).toMatchObject({
      hfm_success: 0,
      hfm_failure: "connection_reset",
    });
    expect(observed({ ...msm, test_keys: { requests: [{ ...tx, response: { code: 200 } }] } }).middlebox[0]).toMatchObject({ hfm_failure: "missing_response_body" });
    expect(observed({ ...msm, test_keys: { requests: [{ ...tx, request: { url: "http://example.org/" } }] } }).middlebox[0]).toMatchObject({ hfm_failure: "malformed_request" });
  });

  it("dnscheck, urlgetter, stunreachability, echcheck: the same parts, arranged as each test reports them", () => {
    const signal = load("signal_022.json");
    const tk = signal.test_keys;
    const parts = { queries: tk.queries, tcp_connect: tk.tcp_connect, tls_handshakes: tk.tls_handshakes, network_events: tk.network_events, requests: tk.requests };
    const as = (test_name: string, test_keys: Record<string, unknown>) => observed({ ...signal, test_name, input: null, test_keys });
    const urlgetter = as("urlgetter", parts);
    expect(urlgetter.web.length).toBe(observed(signal).web.length);
    expect(urlgetter.web.every((r) => r.target_id === null && r.test_name === "urlgetter")).toBe(true);

    const queries = tk.queries as unknown[];
    const dnscheck = as("dnscheck", { bootstrap: { queries: queries.slice(0, 1) }, lookups: { "udp://8.8.8.8:53": parts } });
    const bootstrapRows = as("stunreachability", { queries: queries.slice(0, 1) }).web.length;
    expect(dnscheck.web.length).toBe(bootstrapRows + urlgetter.web.length);
    expect(dnscheck.web.map((r) => r.observation_idx)).toEqual(dnscheck.web.map((_, i) => i + 1));

    const stun = as("stunreachability", { queries });
    expect(stun.web.every((r) => r.tcp_success === null && r.tls_failure === null && r.dns_query_type !== null)).toBe(true);

    const hs = tk.tls_handshakes as Record<string, unknown>[];
    const ech = as("echcheck", { control: hs[0], target: hs[1], network_events: tk.network_events });
    expect(ech.web.map((r) => r.tls_echconfig)).toEqual(["", "GREASE"]);
  });
});
