import { spawn } from "node:child_process";

// The control protocol's verdict-relevant fields, and the probe's own verdict over an answer.

export interface ControlResponse {
  dns?: { failure: string | null; addrs: string[] | null };
  tcp_connect?: Record<string, { status: boolean; failure: string | null }>;
  tls_handshake?: Record<string, { server_name: string; status: boolean; failure: string | null }>;
  http_request?: {
    body_length: number;
    failure: string | null;
    title: string;
    headers: Record<string, string> | null;
    status_code: number;
  };
  ip_info?: Record<string, { asn: number; flags: number }>;
}

export async function askHelper(url: string, request: unknown): Promise<{ status: number; body: ControlResponse }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "oohelper/interop" },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as ControlResponse };
}

const sorted = <T>(xs: Iterable<T>) => [...xs].sort();

/**
 * The fields the probe's analysis reads, in a form to compare: what each helper saw of DNS, of
 * each TCP endpoint and TLS handshake, and of the final HTTP response (failure, status, title,
 * body length, which headers). ip_info: the addresses and their flags except the bogon bit — the
 * interop build counts loopback as public for oohelperd, while ours (allowed to measure loopback
 * in tests) still flags it as a bogon, as in production.
 */
export function verdictFields(c: ControlResponse): Record<string, unknown> {
  const out: Record<string, unknown> = {
    "dns.failure": c.dns?.failure ?? null,
    "dns.addrs": sorted(c.dns?.addrs ?? []),
    "http_request.failure": c.http_request?.failure ?? null,
    "http_request.status_code": c.http_request?.status_code ?? null,
    "http_request.title": c.http_request?.title ?? null,
    "http_request.body_length": c.http_request?.body_length ?? null,
    "http_request.headers": sorted(Object.keys(c.http_request?.headers ?? {}).map((h) => h.toLowerCase())),
    "tcp_connect.endpoints": sorted(Object.keys(c.tcp_connect ?? {})),
    "tls_handshake.endpoints": sorted(Object.keys(c.tls_handshake ?? {})),
    "ip_info.addrs": sorted(Object.keys(c.ip_info ?? {})),
  };
  for (const [ep, v] of Object.entries(c.tcp_connect ?? {})) out[`tcp_connect[${ep}]`] = [v.status, v.failure];
  for (const [ep, v] of Object.entries(c.tls_handshake ?? {})) out[`tls_handshake[${ep}]`] = [v.status, v.failure, v.server_name];
  for (const [ip, v] of Object.entries(c.ip_info ?? {})) out[`ip_info[${ip}].flags`] = v.flags & ~4; // 4: THIPInfoFlagIsBogon
  return out;
}

/** Field names whose values differ between two answers. */
export function differingFields(a: ControlResponse, b: ControlResponse): string[] {
  const fa = verdictFields(a);
  const fb = verdictFields(b);
  return sorted(new Set([...Object.keys(fa), ...Object.keys(fb)])).filter((k) => JSON.stringify(fa[k]) !== JSON.stringify(fb[k]));
}

export interface Verdict {
  blocking: unknown;
  accessible: unknown;
  x_blocking_flags: number;
  x_dns_flags: number;
  x_null_null_flags: number;
  dns_consistency: unknown;
  http_experiment_failure: unknown;
  body_length_match: unknown;
  headers_match: unknown;
  status_code_match: unknown;
  title_match: unknown;
  error?: string;
}

/** The probe's web_connectivity v0.5 analysis (ooniedgeverdict) over one measurement, once per control answer. */
export function probeVerdicts(binary: string, testKeys: unknown, controls: Record<string, ControlResponse>): Promise<Record<string, Verdict>> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`ooniedgeverdict exited ${code}: ${Buffer.concat(err).toString()}${Buffer.concat(out).toString()}`));
      // The analysis also prints its "Extended Analysis" notes on stdout: the answer is the last line.
      const last = Buffer.concat(out).toString().trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as Record<string, Verdict>);
      } catch (e) {
        reject(new Error(`ooniedgeverdict printed no JSON: ${(e as Error).message}: ${last.slice(0, 200)}`));
      }
    });
    child.stdin.on("error", reject); // it exited before reading: the close handler says why
    child.stdin.end(JSON.stringify({ test_keys: testKeys, controls }));
  });
}
