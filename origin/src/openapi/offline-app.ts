import { tmpdir } from "node:os";
import path from "node:path";
import { createApp } from "../app";
import { loadConfig } from "../config";
import { createLogger } from "../logger";
import type { Services } from "../services";

// The real app, built without opening anything, for generating the OpenAPI document (npm run
// openapi:write/check and the spec test). Optional services are absent; the stateful ones may be
// passed around while the app is built, but touching one throws this error instead of hanging.

function unavailable(name: string): unknown {
  return new Proxy(
    {},
    {
      get(_t, key) {
        if (typeof key === "symbol" || key === "then") return undefined;
        throw new Error(`services.${name}.${key} used while building the app: not available during OpenAPI generation`);
      },
    },
  );
}

export function offlineApp() {
  // A data directory that is never created: building the app must not write anything.
  const config = loadConfig({ DATA_DIR: path.join(tmpdir(), "ooni-edge-openapi-unused"), LOG_LEVEL: "silent" });
  const services = {
    config,
    log: createLogger("silent"),
    db: unavailable("db"),
    blobs: unavailable("blobs"),
    geoip: unavailable("geoip"),
  } as unknown as Services;
  return createApp(services);
}
