import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ROBOTS_MAX_AGE_S, ROBOTS_TXT } from "#shared/robots";
import type { AppEnv } from "./app-env";
import { clientIpMiddleware } from "./http/client-ip";
import { drainRefusedBodies } from "./http/drain-refused";
import { jsonError } from "./http/errors";
import { requestIdMiddleware } from "./http/request-id";
import { logRequest } from "./http/request-log";
import { healthRoutes } from "./routes/health";
import type { Services } from "./services";
import { authRoutes } from "./auth/routes";
import { authV2Routes } from "./auth/v2/routes";
import { redactPath } from "./auth/redact";
import { quotaMiddleware, quotaRoutes } from "./quotas";
import { aggregationRoutes } from "./aggregation/route";
import { pipelineApiRoutes } from "./pipeline-api";
import { statsRoutes } from "./stats";
import { apiDocsRoutes } from "./openapi/docs-routes";
import { probeRoutes } from "./probe/routes";
import { measurementRoutes } from "./measurements";
import { metrics, metricsRoutes, requestMetricsMiddleware } from "./metrics";
import { oonirunRoutes } from "./oonirun/routes";
import { incidentRoutes } from "./incidents/routes";
import { feedbackRoutes } from "./feedback/routes";
import { priorityRoutes } from "./priorities/routes";
import { corsMiddleware } from "./cors/middleware";

export function createApp(services: Services) {
  const app = new OpenAPIHono<AppEnv>();
  const log = services.log;

  // A request id the edge may have chosen already, so one id follows a request through both logs.
  app.use(requestIdMiddleware());
  // Outermost after the request id: a refusal is sent only once the client's upload is taken.
  app.use(drainRefusedBodies());
  app.use(clientIpMiddleware(services.config.edgeSharedSecret));
  app.use(async (c, next) => {
    c.set("services", services);
    const t0 = performance.now();
    await next();
    logRequest(log, {
      reqId: c.get("requestId"),
      method: c.req.method,
      path: redactPath(c.req.path), // never log an email address (one legacy route has it in the path)
      status: c.res.status,
      t0,
      viaEdge: c.get("viaEdge"),
    });
  });
  // CORS for every answer, preflights and errors included; after the request log so preflights are
  // logged, before metrics, quotas and routes so no answer escapes it.
  app.use(corsMiddleware(services.config.cors));
  // Prometheus request counts and latencies: outside the quota middleware, so its 429s count too.
  app.use(requestMetricsMiddleware(metrics));
  // Fair-use quotas: after the request log (so 429s are logged), before every route.
  if (services.quotas) app.use(quotaMiddleware(services.quotas, services.config.quotas, log));

  app.get("/robots.txt", (c) => {
    c.header("Cache-Control", `public, max-age=${ROBOTS_MAX_AGE_S}`);
    return c.text(ROBOTS_TXT);
  });
  // Route modules: each is a router built with createRouter() (http/router.ts) and mounted at "/".
  app.route("/", healthRoutes());
  app.route("/", authRoutes());
  app.route("/", authV2Routes());
  app.route("/", quotaRoutes());
  app.route("/", aggregationRoutes());
  app.route("/", pipelineApiRoutes());
  app.route("/", statsRoutes());
  app.route("/", probeRoutes());
  app.route("/", measurementRoutes());
  app.route("/", oonirunRoutes());
  app.route("/", incidentRoutes());
  app.route("/", feedbackRoutes());
  app.route("/", priorityRoutes());
  app.route("/", metricsRoutes(metrics, services, services.config.metrics));
  // /apispec.json and /apidocs: the document covers every route mounted on `app`, whenever mounted.
  app.route("/", apiDocsRoutes(() => app));

  app.notFound((c) => jsonError(c, 404, "not found", { path: c.req.path }));
  app.onError((err, c) => {
    // Hono's validators throw HTTPException 400 for a body that is not JSON: a client error, not ours.
    if (err instanceof HTTPException && err.status < 500) {
      return jsonError(c, err.status as ContentfulStatusCode, err.message || "bad request", { parameter: "body" });
    }
    log.error({ req_id: c.get("requestId"), err }, "unhandled error");
    return jsonError(c, 500, "internal error", { request_id: c.get("requestId") });
  });
  return app;
}
