import { OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import { ROBOTS_MAX_AGE_S, ROBOTS_TXT } from "#shared/robots";
import { REQUEST_ID_HEADER } from "#shared/edge-protocol";
import type { AppEnv } from "./app-env";
import { clientIpMiddleware } from "./http/client-ip";
import { jsonError } from "./http/errors";
import { healthRoutes } from "./routes/health";
import type { Services } from "./services";

export function createApp(services: Services) {
  const app = new OpenAPIHono<AppEnv>();
  const log = services.log;

  // A request id the edge may have chosen already, so one id follows a request through both logs.
  app.use(
    requestId({
      headerName: REQUEST_ID_HEADER,
      generator: () => crypto.randomUUID(),
      limitLength: 64,
    }),
  );
  app.use(clientIpMiddleware(services.config.edgeSharedSecret));
  app.use(async (c, next) => {
    c.set("services", services);
    const t0 = performance.now();
    await next();
    log.info(
      {
        req_id: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - t0) * 10) / 10,
        via_edge: c.get("viaEdge"),
      },
      "request",
    );
  });

  app.get("/robots.txt", (c) => {
    c.header("Cache-Control", `public, max-age=${ROBOTS_MAX_AGE_S}`);
    return c.text(ROBOTS_TXT);
  });
  // Route modules: each is a router built with createRouter() (http/router.ts) and mounted at "/".
  app.route("/", healthRoutes());

  app.notFound((c) => jsonError(c, 404, "not found", { path: c.req.path }));
  app.onError((err, c) => {
    log.error({ req_id: c.get("requestId"), err }, "unhandled error");
    return jsonError(c, 500, "internal error", { request_id: c.get("requestId") });
  });
  return app;
}
