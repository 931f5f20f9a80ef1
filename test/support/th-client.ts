import { fetch as undiciFetch, type Dispatcher } from "undici";

// A probe's web-connectivity control request (oohelperd protocol) sent to a bridge: `POST /` with the
// probe's body, from the client network named by CF-Connecting-IP (what Cloudflare sets, and what
// `wrangler dev` passes through). The answer is read completely, whatever its status.

/** What ooniprobe-cli sends: its User-Agent gets the helper's larger in-flight allowance. */
export const PROBE_CLI_USER_AGENT = "ooniprobe-cli/3.22.0 ooniprobe-engine/3.22.0";

export function controlBody(url: string, endpoint: string): string {
  return JSON.stringify({
    http_request: url,
    http_request_headers: {
      Accept: ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
      "Accept-Language": ["en-US;q=0.8,en;q=0.5"],
      "User-Agent": ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"],
    },
    tcp_connect: [endpoint],
    x_quic_enabled: false,
  });
}

export interface ControlAnswer {
  status: number;
  /** X-OONI-Helper: which helper answered (200s and the helper's own 4xx). */
  helper: string | null;
  attempts: number;
  ms: number;
  /** JSON body (null when the body is not JSON). */
  json: Record<string, unknown> | null;
  /** The request did not finish within the hang limit (or the connection failed). */
  hung: boolean;
  /** Set when the connection to the bridge itself failed. */
  transportError: string | null;
}

export async function controlRequest(
  bridgeUrl: string,
  clientIp: string,
  body: string,
  hangLimitMs: number,
  dispatcher?: Dispatcher,
): Promise<ControlAnswer> {
  const t0 = performance.now();
  try {
    const res = await undiciFetch(`${bridgeUrl}/`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": PROBE_CLI_USER_AGENT, "cf-connecting-ip": clientIp },
      body,
      signal: AbortSignal.timeout(hangLimitMs),
      dispatcher,
    });
    const text = await res.text();
    let json: Record<string, unknown> | null = null;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = null;
    }
    return {
      status: res.status,
      helper: res.headers.get("x-ooni-helper"),
      attempts: Number(res.headers.get("x-ooni-helper-attempts") ?? 0),
      ms: performance.now() - t0,
      json,
      hung: false,
      transportError: null,
    };
  } catch (err) {
    const name = (err as Error).name;
    const hung = name === "TimeoutError" || name === "AbortError";
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = `${(err as Error).message}${cause ? `: ${cause.code ?? ""} ${cause.message ?? ""}` : ""}`;
    return { status: 0, helper: null, attempts: 0, ms: performance.now() - t0, json: null, hung, transportError: hung ? null : detail };
  }
}
