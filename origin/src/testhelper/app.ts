import { Hono } from "hono";
import { jsonError } from "../http/errors";
import { measure } from "./measure";
import { resolveOptions, type TestHelperOptions } from "./options";
import { readBodyBounded } from "./request-body";
import { controlRequestSchema } from "./schema";

const HELLO = { message: "Hello OONItarian!" } as const;

/**
 * The Web Connectivity test helper (oohelperd protocol) on any path: GET says hello, POST measures,
 * anything else is a 400. Every answer is JSON.
 */
export function createTestHelperApp(opts: TestHelperOptions = {}) {
  const config = resolveOptions(opts);
  const log = config.logger;
  const app = new Hono();
  let inFlight = 0;

  // Shed load before reading anything: a measurement holds sockets for up to ~20 s. Real probes
  // (User-Agent "ooniprobe-…") get a higher ceiling than other clients.
  app.use(async (c, next) => {
    const ooniprobe = (c.req.header("user-agent") ?? "").startsWith("ooniprobe-");
    const limit = ooniprobe ? config.maxInFlightOoniprobe : config.maxInFlight;
    if (inFlight >= limit) {
      log.warn({ in_flight: inFlight, ooniprobe }, "testhelper: too many requests in flight");
      c.header("Retry-After", "5");
      return jsonError(c, 503, "too many requests in flight");
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  });

  app.all("*", async (c) => {
    if (c.req.method === "GET") return c.json(HELLO);
    if (c.req.method !== "POST") return jsonError(c, 400, `method ${c.req.method} not allowed`);

    const body = await readBodyBounded(c.req.raw, config.maxRequestBytes);
    if (body === "too_large") return jsonError(c, 413, `request body larger than ${config.maxRequestBytes} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return jsonError(c, 400, "request body is not valid JSON");
    }
    const parsed = controlRequestSchema.safeParse(json);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
      return jsonError(c, 400, `invalid control request: ${detail}`);
    }

    const t0 = performance.now();
    const response = await measure(config, parsed.data, c.req.raw.signal);
    log.info(
      {
        ms: Math.round(performance.now() - t0),
        endpoints: Object.keys(response.tcp_connect).length,
        dns_failure: response.dns.failure,
        http_failure: response.http_request.failure,
      },
      "testhelper: measured",
    );
    log.debug({ url: parsed.data.http_request }, "testhelper: measured url");
    return c.json(response);
  });

  app.onError((err, c) => {
    log.error({ err }, "testhelper: unhandled error");
    return jsonError(c, 500, "internal error");
  });
  return app;
}
