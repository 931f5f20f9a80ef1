import { anonCredRoutes } from "../anoncred/routes";
import { createRouter } from "../http/router";
import { probeAuthRoutes } from "./routes-auth";
import { checkInRoutes } from "./routes-checkin";
import { discoveryRoutes } from "./routes-discovery";
import { reportRoutes } from "./routes-reports";

/** Every route a probe calls (docs/probe-services.md), mounted at the root of any hostname. */
export function probeRoutes() {
  const app = createRouter();
  app.route("/", discoveryRoutes());
  app.route("/", probeAuthRoutes());
  app.route("/", checkInRoutes());
  app.route("/", reportRoutes());
  app.route("/", anonCredRoutes());
  return app;
}
