import { createRouter } from "../http/router";
import { circumventionRoutes } from "./routes/circumvention";
import { coverageRoutes } from "./routes/coverage";
import { imRoutes } from "./routes/im";
import { miscRoutes } from "./routes/misc";
import { networkRoutes } from "./routes/networks";
import { overviewRoutes } from "./routes/overview";
import { websiteRoutes } from "./routes/websites";

/** The Explorer statistics under /api/_/ and /api/v1/torsf_stats, as one router. */
export function statsRoutes() {
  const app = createRouter();
  for (const r of [overviewRoutes(), coverageRoutes(), websiteRoutes(), imRoutes(), circumventionRoutes(), networkRoutes(), miscRoutes()]) {
    app.route("/", r);
  }
  return app;
}
