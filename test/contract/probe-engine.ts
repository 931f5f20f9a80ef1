// A client that talks to the backend the way the OONI probe engine (probe-cli v3.31, miniooni)
// does — same headers, paths and bodies, and "only 200 is success" — using web APIs only, so the
// same code runs in Node and inside workerd. probe-contract.md is the reference.
//
// (test/edge/probe-contract.test.ts carries a copy of this client: the edge test program cannot
// import files outside test/edge.)

export const ENGINE_USER_AGENT = "miniooni/0.1.0-dev ooniprobe-engine/3.31.0";
const MAX_RESPONSE = 1 << 24;

export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export class ProbeCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly path: string,
  ) {
    super(`${path}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

export interface Service {
  address: string;
  type: string;
  front?: string;
}

export interface CheckInResponse {
  v: number;
  probe_cc: string;
  probe_asn: string;
  probe_network_name: string | null;
  utc_time: string;
  conf: { features: Record<string, boolean>; test_helpers: Record<string, Service[]> };
  tests: Record<string, { report_id: string; urls?: { category_code: string; country_code: string; url: string }[] }>;
}

export interface Measurement {
  [key: string]: unknown;
  probe_cc: string;
  probe_asn: string;
  test_name: string;
}

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export class ProbeEngine {
  /** Every request made, for assertions about what a probe sends. */
  readonly sent: { method: string; url: string; headers: Record<string, string> }[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly fetcher: Fetcher = (u, i) => fetch(u, i),
  ) {}

  async call<T>(
    method: "GET" | "POST",
    path: string,
    opts: { json?: unknown; raw?: Uint8Array; bearer?: string; contentEncoding?: "gzip" } = {},
  ): Promise<T> {
    // Absolute paths against the base URL: a path inside the base URL is dropped, as the engine does.
    const url = new URL(path, this.baseUrl).toString();
    const headers: Record<string, string> = { "User-Agent": ENGINE_USER_AGENT, "Accept-Encoding": "gzip" };
    let body: Uint8Array | undefined;
    if (method === "POST") {
      headers["Content-Type"] = "application/json";
      body = opts.raw ?? new TextEncoder().encode(JSON.stringify(opts.json ?? {}));
      if (opts.contentEncoding === "gzip") {
        body = await gzip(body);
        headers["Content-Encoding"] = "gzip";
      }
    }
    if (opts.bearer) headers.Authorization = `Bearer ${opts.bearer}`;
    this.sent.push({ method, url, headers });
    const res = await this.fetcher(url, { method, headers, body });
    const bytes = new Uint8Array(await res.arrayBuffer()); // the body is read first, whatever the status
    if (bytes.length > MAX_RESPONSE) throw new ProbeCallError(res.status, "response larger than 16 MiB", path);
    const text = new TextDecoder().decode(bytes);
    if (res.status !== 200) throw new ProbeCallError(res.status, text, path);
    const parsed = JSON.parse(text) as T | null;
    if (parsed === null) throw new ProbeCallError(res.status, "JSON null body", path);
    return parsed;
  }

  testHelpers() {
    return this.call<Record<string, Service[]>>("GET", "/api/v1/test-helpers");
  }

  register(password: string) {
    return this.call<{ client_id: string }>("POST", "/api/v1/register", {
      json: {
        platform: "miniooni",
        probe_asn: "AS0",
        probe_cc: "ZZ",
        software_name: "miniooni",
        software_version: "0.1.0-dev",
        supported_tests: ["web_connectivity"],
        password,
      },
    });
  }

  login(clientId: string, password: string) {
    return this.call<{ token: string; expire: string }>("POST", "/api/v1/login", { json: { username: clientId, password } });
  }

  torTargets(token: string, cc: string) {
    return this.call<Record<string, { address: string; name: string; params: Record<string, string[]> | null; protocol: string; source: string }>>(
      "GET",
      `/api/v1/test-list/tor-targets?country_code=${cc}`,
      { bearer: token },
    );
  }

  psiphonConfig(token: string) {
    return this.call<Record<string, unknown>>("GET", "/api/v1/test-list/psiphon-config", { bearer: token });
  }

  checkIn(probeCc = "ZZ", probeAsn = "AS0", runType: "timed" | "manual" = "timed", charging = false) {
    return this.call<CheckInResponse>("POST", "/api/v1/check-in", {
      json: {
        charging,
        on_wifi: true,
        platform: "miniooni",
        probe_asn: probeAsn,
        probe_cc: probeCc,
        run_type: runType,
        software_name: "miniooni",
        software_version: "0.1.0-dev",
        web_connectivity: { category_codes: [] },
      },
    });
  }

  openReport(testName: string, probeCc: string, probeAsn: string, testStartTime: string) {
    return this.call<{ backend_version: string; report_id: string; supported_formats: string[] }>("POST", "/report", {
      json: {
        data_format_version: "0.2.0",
        format: "json",
        probe_asn: probeAsn,
        probe_cc: probeCc,
        software_name: "miniooni",
        software_version: "0.1.0-dev",
        test_name: testName,
        test_start_time: testStartTime,
        test_version: "0.4.3",
      },
    });
  }

  /** Returns the exact bytes sent (before any content encoding) with the answer. */
  async submitToReport(reportId: string, m: Measurement, contentEncoding?: "gzip") {
    const raw = new TextEncoder().encode(JSON.stringify({ format: "json", content: { ...m, report_id: reportId } }));
    const answer = await this.call<{ measurement_uid: string }>("POST", `/report/${reportId}`, { raw, contentEncoding });
    return { raw, answer };
  }

  async submitMeasurement(m: Measurement) {
    const text = JSON.stringify(m);
    const raw = new TextEncoder().encode(
      JSON.stringify({ format: "json", content: text, nym: null, zkp_request: null, manifest_version: null, protocol_version: null }),
    );
    const answer = await this.call<{ measurement_uid: string }>("POST", "/api/v1/submit_measurement", { raw });
    return { text, answer };
  }

  closeReport(reportId: string) {
    return this.call<Record<string, never>>("POST", `/report/${reportId}/close`);
  }
}

/** A web_connectivity measurement as the engine serializes it (data format 0.2.0). */
export function webConnectivityMeasurement(cc: string, asn: string, input: string, startTime: string): Measurement {
  return {
    annotations: { architecture: "amd64", engine_name: "ooniprobe-engine", engine_version: "3.31.0", platform: "linux" },
    data_format_version: "0.2.0",
    extensions: { dnst: 0, httpt: 0, netevents: 0, tcpconnect: 0, tlshandshake: 0, tunnel: 0 },
    input,
    measurement_start_time: startTime,
    probe_asn: asn,
    probe_cc: cc,
    probe_ip: "127.0.0.1",
    probe_network_name: "Vodafone Italia S.p.A.",
    resolver_asn: asn,
    resolver_ip: "127.0.0.2",
    resolver_network_name: "Vodafone Italia S.p.A.",
    software_name: "miniooni",
    software_version: "0.1.0-dev",
    test_keys: { accessible: true, blocking: false, control_failure: null, dns_experiment_failure: null, http_experiment_failure: null },
    test_name: "web_connectivity",
    test_runtime: 0.53,
    test_start_time: startTime,
    test_version: "0.4.3",
  };
}

export function utcProbeTime(d = new Date()): string {
  return d.toISOString().slice(0, 19).replace("T", " ");
}
