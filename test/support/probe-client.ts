import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fetch as undiciFetch, type Dispatcher } from "undici";
import { ENGINE_USER_AGENT, utcProbeTime, webConnectivityMeasurement, type Measurement } from "../contract/probe-engine";
import { corpusAvailable, corpusPath } from "./corpus";
import { NONCE_KEY, type Ledger } from "./ledger";

// Probe-like clients for the fault and load suites: the calls a probe makes (check-in, open report,
// submit, submit_measurement), each from its own client network (CF-Connecting-IP, as Cloudflare
// sets it), retried like a probe retries a failed upload (5xx, timeout, broken connection), with
// every attempt logged so that tests can assert that no attempt hung.

export type Kind = "check_in" | "open_report" | "submit" | "submit_measurement" | "th_control" | "explorer_get";

export interface Attempt {
  kind: Kind;
  status: number; // 0 = no HTTP answer (connection failed or hang limit reached)
  ms: number;
  at: number; // performance.now() when it ended
  hung: boolean;
  /** A 4xx/5xx whose body is a JSON object with an `error` string. */
  jsonError: boolean;
  detail?: string;
}

export interface ClientContext {
  baseUrl: string;
  clientIp: string;
  hangLimitMs: number;
  dispatcher?: Dispatcher;
  log(a: Attempt): void;
  /** Retries stop after this time (performance.now()). */
  retryUntil: number;
  /** Sent with every request (e.g. what the edge adds, for a baseline straight to the origin). */
  extraHeaders?: Record<string, string>;
}

export class GaveUp extends Error {}

async function once(ctx: ClientContext, kind: Kind, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const t0 = performance.now();
  const headers: Record<string, string> = { "user-agent": ENGINE_USER_AGENT, "cf-connecting-ip": ctx.clientIp, ...ctx.extraHeaders };
  if (body !== undefined) headers["content-type"] = "application/json";
  try {
    const res = await undiciFetch(`${ctx.baseUrl}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(ctx.hangLimitMs),
      dispatcher: ctx.dispatcher,
    });
    const text = await res.text();
    let jsonError = false;
    if (res.status >= 400) {
      try {
        jsonError = typeof (JSON.parse(text) as { error?: unknown }).error === "string";
      } catch {
        jsonError = false;
      }
    }
    const hdrs = res.status >= 500 && !jsonError ? ` [${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("; ")}]` : "";
    ctx.log({ kind, status: res.status, ms: performance.now() - t0, at: performance.now(), hung: false, jsonError, detail: res.status >= 400 ? text.slice(0, 200) + hdrs : undefined });
    return { status: res.status, text };
  } catch (err) {
    const name = (err as Error).name;
    const hung = name === "TimeoutError" || name === "AbortError";
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    ctx.log({ kind, status: 0, ms: performance.now() - t0, at: performance.now(), hung, jsonError: false, detail: hung ? "hang" : cause ? `${cause.code ?? ""} ${cause.message ?? ""}`.trim() : String(err) });
    return { status: 0, text: "" };
  }
}

/** Sends until a 200; 5xx and failed connections are retried with backoff, a 4xx is final. */
async function retrying(ctx: ClientContext, kind: Kind, method: string, path: string, body?: string): Promise<string> {
  let backoff = 100;
  for (;;) {
    const { status, text } = await once(ctx, kind, method, path, body);
    if (status === 200) return text;
    if (status >= 400 && status < 500) throw new GaveUp(`${kind}: HTTP ${status}: ${text.slice(0, 200)}`);
    if (performance.now() + backoff > ctx.retryUntil) throw new GaveUp(`${kind}: still failing (last status ${status}) at the retry deadline`);
    await new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random())));
    backoff = Math.min(backoff * 2, 1_000);
  }
}

/** Measurements to submit: the corpus's real JSON measurements when present, else generated ones. */
export function measurementTemplates(): { templates: Measurement[]; source: string } {
  if (corpusAvailable) {
    const dir = corpusPath("measurements");
    const templates: Measurement[] = [];
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith(".json") || f === "expectations.json") continue;
      const m = JSON.parse(readFileSync(`${dir}/${f}`, "utf8")) as Measurement;
      if (typeof m.test_name !== "string" || !/^[A-Z]{2}$/.test(String(m.probe_cc)) || !/^AS\d+$/.test(String(m.probe_asn))) continue;
      delete m.report_id; // the report this session opens
      templates.push(m);
    }
    if (templates.length > 0) return { templates, source: `corpus (${templates.length} measurements)` };
  }
  const start = utcProbeTime();
  return {
    templates: Array.from({ length: 8 }, (_, i) => webConnectivityMeasurement("IT", "AS30722", `https://example.org/${i}`, start)),
    source: "generated web_connectivity",
  };
}

function withNonce(m: Measurement, nonce: string, extra: Record<string, unknown> = {}): Measurement {
  const ann = (m.annotations && typeof m.annotations === "object" ? m.annotations : {}) as Record<string, unknown>;
  return { ...m, ...extra, annotations: { ...ann, [NONCE_KEY]: nonce } };
}

export async function checkIn(ctx: ClientContext): Promise<void> {
  const body = JSON.stringify({
    charging: false,
    on_wifi: true,
    platform: "linux",
    probe_asn: "AS30722",
    probe_cc: "IT",
    run_type: "timed",
    software_name: "ooniprobe-cli",
    software_version: "3.22.0",
    web_connectivity: { category_codes: [] },
  });
  await retrying(ctx, "check_in", "POST", "/api/v1/check-in", body);
}

export async function openReport(ctx: ClientContext, m: Measurement): Promise<string> {
  const body = JSON.stringify({
    data_format_version: "0.2.0",
    format: "json",
    probe_asn: m.probe_asn,
    probe_cc: m.probe_cc,
    software_name: m.software_name ?? "ooniprobe-cli",
    software_version: m.software_version ?? "3.22.0",
    test_name: m.test_name,
    test_start_time: typeof m.test_start_time === "string" ? m.test_start_time : utcProbeTime(),
    test_version: m.test_version ?? "0.1.0",
  });
  return (JSON.parse(await retrying(ctx, "open_report", "POST", "/report", body)) as { report_id: string }).report_id;
}

/** One measurement into an open report (the mobile path), recorded in the ledger once acknowledged. */
export async function submitToReport(ctx: ClientContext, ledger: Ledger, reportId: string, m: Measurement): Promise<void> {
  const nonce = randomBytes(12).toString("hex");
  const sent = JSON.stringify({ format: "json", content: withNonce(m, nonce, { report_id: reportId }) });
  const text = await retrying(ctx, "submit", "POST", `/report/${reportId}`, sent);
  ledger.add({ uid: (JSON.parse(text) as { measurement_uid: string }).measurement_uid, nonce, sent, via: "report" });
}

/** One measurement without a report (the desktop/CLI path): the measurement travels as a JSON string. */
export async function submitMeasurement(ctx: ClientContext, ledger: Ledger, m: Measurement): Promise<void> {
  const nonce = randomBytes(12).toString("hex");
  const text = JSON.stringify(withNonce(m, nonce));
  const body = JSON.stringify({ format: "json", content: text, nym: null, zkp_request: null, manifest_version: null, protocol_version: null });
  const answer = await retrying(ctx, "submit_measurement", "POST", "/api/v1/submit_measurement", body);
  ledger.add({ uid: (JSON.parse(answer) as { measurement_uid: string }).measurement_uid, nonce, sent: text, via: "submit_measurement" });
}

/** An Explorer read (a GET the edge caches); not retried: what matters is what the user saw. */
export async function explorerGet(ctx: ClientContext, path: string): Promise<number> {
  return (await once(ctx, "explorer_get", "GET", path)).status;
}

/** A web-connectivity control request (`POST /` to a bridge, or to a helper directly); not retried. */
export async function thControl(ctx: ClientContext, body: string): Promise<number> {
  return (await once(ctx, "th_control", "POST", "/", body)).status;
}
