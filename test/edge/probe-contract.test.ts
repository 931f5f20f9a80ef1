import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// The probe contract through the real edge Worker inside workerd, on a random hostname, against the
// real origin of the globalSetup (fixture GeoIP, test list and probe configuration). The client
// below is a copy of test/contract/probe-engine.ts (this test program cannot import outside
// test/edge): the probe engine's headers, paths and bodies, and "only 200 is success".
// Cloudflare sets CF-Connecting-IP in production; here the test sets it, as Cloudflare would.

const worker = exports.default;
const UA = "miniooni/0.1.0-dev ooniprobe-engine/3.31.0";

class CallError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

function engine(base: string, clientIp = "127.0.0.1") {
  const sent: Record<string, string>[] = [];
  async function call<T>(method: "GET" | "POST", path: string, opts: { json?: unknown; raw?: Uint8Array; bearer?: string; gzip?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = { "User-Agent": UA, "Accept-Encoding": "gzip", "CF-Connecting-IP": clientIp };
    let body: Uint8Array | undefined;
    if (method === "POST") {
      headers["Content-Type"] = "application/json";
      body = opts.raw ?? new TextEncoder().encode(JSON.stringify(opts.json ?? {}));
      if (opts.gzip) {
        body = new Uint8Array(await new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
        headers["Content-Encoding"] = "gzip";
      }
    }
    if (opts.bearer) headers.Authorization = `Bearer ${opts.bearer}`;
    sent.push(headers);
    const res = await worker.fetch(new URL(path, base).toString(), { method, headers, body });
    const text = await res.text();
    if (res.status !== 200) throw new CallError(res.status, text);
    const parsed = JSON.parse(text) as T | null;
    if (parsed === null) throw new CallError(res.status, "null body");
    return parsed;
  }
  return { call, sent };
}

const randomHost = () => `${crypto.randomUUID().slice(0, 8)}.bridge-${Math.floor(Math.random() * 1e6)}.example`;
const now = () => new Date().toISOString().slice(0, 19).replace("T", " ");

function measurement(cc: string, asn: string, input: string, start: string, reportId?: string) {
  return {
    annotations: { architecture: "amd64", engine_name: "ooniprobe-engine", engine_version: "3.31.0", platform: "linux" },
    data_format_version: "0.2.0",
    input,
    measurement_start_time: start,
    probe_asn: asn,
    probe_cc: cc,
    probe_ip: "127.0.0.1",
    probe_network_name: "Vodafone Italia S.p.A.",
    ...(reportId ? { report_id: reportId } : {}),
    resolver_asn: asn,
    resolver_ip: "127.0.0.2",
    resolver_network_name: "Vodafone Italia S.p.A.",
    software_name: "miniooni",
    software_version: "0.1.0-dev",
    test_keys: { accessible: true, blocking: false },
    test_name: "web_connectivity",
    test_runtime: 0.5,
    test_start_time: start,
    test_version: "0.4.3",
  };
}

type CheckIn = {
  v: number;
  probe_cc: string;
  probe_asn: string;
  probe_network_name: string | null;
  utc_time: string;
  conf: { features: Record<string, boolean>; test_helpers: Record<string, { address: string; type: string }[]> };
  tests: Record<string, { report_id: string; urls?: { category_code: string; country_code: string; url: string }[] }>;
};

describe("probe contract through the edge (workerd)", () => {
  it("runs a whole probe session on a random hostname", async () => {
    const host = randomHost();
    const p = engine(`https://${host}/a/base/path/`);

    const helpers = await p.call<Record<string, { address: string; type: string }[]>>("GET", "/api/v1/test-helpers");
    expect(helpers["web-connectivity"]![0]).toEqual({ address: `https://${host}`, type: "https" });
    // The legacy helpers of bridge-config [legacy_helpers], as upstream shapes them: without them the
    // probe's http_header_field_manipulation and http_invalid_request_line stop ("no available helpers").
    expect(helpers["tcp-echo"]).toEqual([{ address: "127.0.0.1", type: "legacy" }]);
    expect(helpers["http-return-json-headers"]).toEqual([{ address: "http://127.0.0.1:8792", type: "legacy" }]);

    const password = "a".repeat(64);
    const { client_id } = await p.call<{ client_id: string }>("POST", "/api/v1/register", {
      json: { platform: "miniooni", probe_asn: "AS0", probe_cc: "ZZ", software_name: "miniooni", software_version: "0.1.0-dev", supported_tests: ["web_connectivity"], password },
    });
    const { token, expire } = await p.call<{ token: string; expire: string }>("POST", "/api/v1/login", { json: { username: client_id, password } });
    expect(expire).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const tor = await p.call<Record<string, { address: string; name: string; protocol: string }>>("GET", "/api/v1/test-list/tor-targets?country_code=IT", { bearer: token });
    expect(Object.values(tor).every((t) => typeof t.address === "string" && typeof t.protocol === "string")).toBe(true);
    await expect(p.call("GET", "/api/v1/test-list/tor-targets?country_code=IT")).rejects.toMatchObject({ status: 401 });

    const ci = await p.call<CheckIn>("POST", "/api/v1/check-in", {
      json: { charging: false, on_wifi: true, platform: "miniooni", probe_asn: "AS0", probe_cc: "ZZ", run_type: "timed", software_name: "miniooni", software_version: "0.1.0-dev", web_connectivity: { category_codes: [] } },
    });
    expect(ci).toMatchObject({ v: 1, probe_cc: "IT", probe_asn: "AS30722", probe_network_name: "Vodafone Italia S.p.A." });
    expect(ci.utc_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ci.conf.features["webconnectivity_0.5"]).toBe(true);
    expect(ci.conf.test_helpers["tcp-echo"]).toEqual(helpers["tcp-echo"]);
    expect(ci.conf.test_helpers["http-return-json-headers"]).toEqual(helpers["http-return-json-headers"]);
    const urls = ci.tests.web_connectivity!.urls!;
    expect(urls).toHaveLength(20);
    expect(urls.every((u) => /^(IT|XX)$/.test(u.country_code) && /^[A-Z]+$/.test(u.category_code) && u.url.startsWith("http"))).toBe(true);

    const start = now();
    const report = await p.call<{ report_id: string; supported_formats: string[]; backend_version: string }>("POST", "/report", {
      json: { data_format_version: "0.2.0", format: "json", probe_asn: ci.probe_asn, probe_cc: ci.probe_cc, software_name: "miniooni", software_version: "0.1.0-dev", test_name: "web_connectivity", test_start_time: start, test_version: "0.4.3" },
    });
    expect(report.supported_formats).toContain("json");
    expect(report.report_id).toMatch(/^\d{8}T\d{6}Z_webconnectivity_IT_30722_n1_[A-Za-z0-9]{16}$/);

    const uids: string[] = [];
    for (const [i, u] of urls.slice(0, 3).entries()) {
      const raw = new TextEncoder().encode(JSON.stringify({ format: "json", content: measurement("IT", "AS30722", u.url, start, report.report_id) }));
      const r = await p.call<{ measurement_uid: string }>("POST", `/report/${report.report_id}`, { raw, gzip: i === 2 });
      expect(r.measurement_uid).toMatch(/^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$/);
      uids.push(r.measurement_uid);
    }
    expect(new Set(uids).size).toBe(3);

    const sm = await p.call<{ measurement_uid: string }>("POST", "/api/v1/submit_measurement", {
      json: { format: "json", content: JSON.stringify(measurement("IT", "AS30722", urls[3]!.url, start)), nym: null, zkp_request: null, manifest_version: null, protocol_version: null },
    });
    expect(sm.measurement_uid).toMatch(/^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$/);
    expect(await p.call("POST", `/report/${report.report_id}/close`)).toEqual({});
  });

  it("locates the probe by the address Cloudflare reports, not by what the probe claims", async () => {
    const us = engine(`https://${randomHost()}/`, "198.51.100.7");
    const ci = await us.call<CheckIn>("POST", "/api/v1/check-in", { json: {} });
    expect(ci).toMatchObject({ probe_cc: "US", probe_asn: "AS7922" });
    // A forged X-Forwarded-For is replaced by the edge.
    const res = await worker.fetch(`https://${randomHost()}/api/v1/check-in`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "127.0.0.1", "x-forwarded-for": "198.51.100.7", "x-ooni-edge-auth": "forged" },
      body: "{}",
    });
    expect(((await res.json()) as CheckIn).probe_cc).toBe("IT");
  });

  it("answers refusals as JSON errors with a non-200 status", async () => {
    const p = engine(`https://${randomHost()}/`);
    for (const [path, json, status] of [
      ["/report/..%2F..%2Fetc", {}, 400],
      ["/report/20240214T090617Z_webconnectivity_ZZ_0_n1_abcdefabcdefabcd", { format: "json", content: {} }, 400],
      ["/api/v1/submit_measurement", { format: "json", content: "{" }, 400],
      ["/api/v1/check-in", { probe_cc: 5 }, 400],
    ] as const) {
      const err = await p.call("POST", path, { json }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(CallError);
      expect((err as CallError).status).toBe(status);
      expect(typeof (JSON.parse((err as CallError).body) as { error: unknown }).error).toBe("string");
    }
  });
});
