import { createRouter } from "../http/router";
import { measurementBodyRoutes } from "./body-routes";
import { measurementListRoutes } from "./list-route";

// The measurement read API: /api/v1/measurements, /api/v1/measurement_meta,
// /api/v1/raw_measurement, /api/v1/measurement/{measurement_uid}.
export function measurementRoutes() {
  const app = createRouter();
  app.route("/", measurementListRoutes());
  app.route("/", measurementBodyRoutes());
  return app;
}
