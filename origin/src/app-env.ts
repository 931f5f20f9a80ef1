import type { AuthVars } from "./auth/middleware";
import type { ClientIpVars } from "./http/client-ip";
import type { Services } from "./services";

/** Hono's typing for every origin route: what middleware puts on the context. */
export interface AppEnv {
  Variables: ClientIpVars & AuthVars & { services: Services; requestId: string };
}
