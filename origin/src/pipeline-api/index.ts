import { changepointRoutes } from "../changepoints/route";
import { analysisRoutes } from "./analysis";
import { observationRoutes } from "./observations";

// The OONI Pipeline v5 read API: observations, analysis and their aggregations (docs/observations.md),
// and the changepoint detector's output (docs/changepoints.md).

export function pipelineApiRoutes() {
  const app = observationRoutes();
  app.route("/", analysisRoutes());
  app.route("/", changepointRoutes());
  return app;
}
