import { analysisRoutes } from "./analysis";
import { observationRoutes } from "./observations";

// The OONI Pipeline v5 read API: observations, analysis and their aggregations (docs/observations.md).

export function pipelineApiRoutes() {
  const app = observationRoutes();
  app.route("/", analysisRoutes());
  return app;
}
