import { observe, type MeasurementObservations } from "../../../origin/src/observations";

// A small web_connectivity 0.4 measurement and its observation rows, for the analysis tests (the
// SQL analysis and the in-process one build the same inputs).

export const START = "2024-05-01 10:00:00";

export interface ProbeSide {
  /** What the system resolver answered (no answer without it). */
  ip?: string;
  /** The DNS failure instead of an answer. */
  failure?: string;
  /** Whether the TCP connect to `ip` succeeded (default true). */
  tcp?: boolean;
}

/**
 * Measurement `n` of `host`: the probe's side as `probe` says, the control resolving `ctrlIps` and
 * reaching them. `blocking` adds the probe's own verdict (test_keys.blocking: "dns" on a DNS
 * failure, else false).
 */
export function wcMeasurement(n: number, host: string, probe: ProbeSide, ctrlIps: string[], opts: { blocking?: boolean } = {}) {
  return {
    probe_cc: "IT", probe_asn: "AS30722", test_name: "web_connectivity", test_version: "0.4.3", report_id: `R${n}`,
    measurement_start_time: START, input: `https://${host}/`, software_name: "ooniprobe-cli", software_version: "3.22.0",
    annotations: { network_type: "wifi" },
    test_keys: {
      ...(opts.blocking ? { blocking: probe.failure ? "dns" : false } : {}),
      queries: [{ hostname: host, query_type: "A", engine: "system", failure: probe.failure ?? null, answers: probe.ip ? [{ answer_type: "A", ipv4: probe.ip }] : null }],
      tcp_connect: probe.ip ? [{ ip: probe.ip, port: 443, status: { success: probe.tcp ?? true, failure: probe.tcp === false ? "connection_reset" : null } }] : [],
      requests: [],
      control: {
        dns: { failure: null, addrs: ctrlIps },
        tcp_connect: Object.fromEntries(ctrlIps.map((ip) => [`${ip}:443`, { status: true, failure: null }])),
        http_request: { body_length: 10, failure: null, status_code: 200 },
      },
    },
  };
}

export const wcUid = (n: number) => `20240501100000.${String(n).padStart(6, "0")}_IT_webconnectivity_${n.toString(16).padStart(16, "0")}`;

/** The observation rows of measurement `n` (throws if the rules cannot take it apart). */
export function observed(n: number, m: Record<string, unknown>): MeasurementObservations {
  const r = observe(m, wcUid(n));
  if (r.kind !== "ok") throw new Error(JSON.stringify(r));
  return r.observations;
}
