import type { Logger } from "pino";
import { measure } from "./measure";
import type { HelperConfig } from "./options";
import { controlRequestSchema } from "./schema";

// What the helper answers, apart from any HTTP framework: server.ts serves it with node:http (the
// hot path: no Request/Response objects, no web streams), app.ts with hono (in-process use).

export interface HelperAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type BodyReader = (max: number) => Promise<string | "too_large">;

const HELLO = { message: "Hello OONItarian!" } as const;
const NO_STORE = { "Cache-Control": "no-store" };

const error = (status: number, message: string, headers: Record<string, string> = {}): HelperAnswer => ({
  status,
  body: { error: message },
  headers: { ...NO_STORE, ...headers },
});

export interface ControlHandler {
  answer(method: string, userAgent: string | undefined, readBody: BodyReader, signal: AbortSignal): Promise<HelperAnswer>;
}

/** GET says hello, POST measures, anything else is a 400; load is shed (503) before reading anything. */
export function createControlHandler(config: HelperConfig): ControlHandler {
  const log: Logger = config.logger;
  let inFlight = 0;

  async function measureBody(readBody: BodyReader, signal: AbortSignal): Promise<HelperAnswer> {
    const body = await readBody(config.maxRequestBytes);
    if (body === "too_large") return error(413, `request body larger than ${config.maxRequestBytes} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return error(400, "request body is not valid JSON");
    }
    const parsed = controlRequestSchema.safeParse(json);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
      return error(400, `invalid control request: ${detail}`);
    }
    const t0 = performance.now();
    const response = await measure(config, parsed.data, signal);
    // Debug, not info: like oohelperd (which logs nothing per request at its default level). A line
    // per answer was one synchronous write(2) on the event loop per request, ≈ 5 % of a request's
    // wall time at 1 concurrent (docs/testhelper.md#performance).
    if (log.isLevelEnabled("debug")) {
      log.debug(
        {
          ms: Math.round(performance.now() - t0),
          endpoints: Object.keys(response.tcp_connect).length,
          dns_failure: response.dns.failure,
          http_failure: response.http_request.failure,
        },
        "testhelper: measured",
      );
    }
    return { status: 200, body: response };
  }

  return {
    async answer(method, userAgent, readBody, signal) {
      // Shed load before reading anything: a measurement holds sockets for up to ~20 s. Real probes
      // (User-Agent "ooniprobe-…") get a higher ceiling than other clients.
      const ooniprobe = (userAgent ?? "").startsWith("ooniprobe-");
      const limit = ooniprobe ? config.maxInFlightOoniprobe : config.maxInFlight;
      if (inFlight >= limit) {
        log.warn({ in_flight: inFlight, ooniprobe }, "testhelper: too many requests in flight");
        return error(503, "too many requests in flight", { "Retry-After": "5" });
      }
      inFlight++;
      try {
        if (method === "GET") return { status: 200, body: HELLO };
        if (method !== "POST") return error(400, `method ${method} not allowed`);
        return await measureBody(readBody, signal);
      } catch (err) {
        log.error({ err }, "testhelper: unhandled error");
        return error(500, "internal error");
      } finally {
        inFlight--;
      }
    },
  };
}
