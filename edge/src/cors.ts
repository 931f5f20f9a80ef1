// Explorer reads the API from another origin with plain GETs: answers under the configured prefixes
// get Access-Control-Allow-Origin when the origin did not set one itself. Preflights (OPTIONS) and
// credentialed calls stay the origin's business.
import type { BridgeConfig } from "../../bridge-config/schema";

const EXPOSE = "X-Cache, Age, X-Request-Id";

export function addCors(req: Request, res: Response, cors: BridgeConfig["cors"], path: string): Response {
  if (req.method !== "GET" && req.method !== "HEAD") return res;
  if (res.headers.has("access-control-allow-origin")) return res;
  if (!cors.path_prefixes.some((p) => path.startsWith(p))) return res;
  res.headers.set("access-control-allow-origin", cors.allow_origin);
  if (!res.headers.has("access-control-expose-headers")) res.headers.set("access-control-expose-headers", EXPOSE);
  if (cors.allow_origin !== "*") res.headers.append("vary", "Origin");
  return res;
}
