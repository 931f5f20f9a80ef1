import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { sessionOf } from "../auth/middleware";
import { jsonError } from "../http/errors";
import type { Logger } from "../logger";
import { NetworkPolicy, parseCidr, type Cidr } from "./network";
import { PathMatcher } from "./paths";
import type { QuotasConfig } from "./settings";
import type { QuotaStore } from "./store";

// Fair use: every metered request is charged the wall-clock time spent serving it, to the client's
// network and (with a valid session bearer) to the account. A request is refused with 429 while
// either has an exhausted bucket. The client address is c.get("clientIp"), which only the edge
// (proving itself with the shared secret) can set from X-Forwarded-For, so a client talking to the
// origin directly cannot pick its quota key.
//
// Hot path: one LMDB read per key before, one write transaction after (~15 µs); the bearer token is
// verified only when present, and that verification is shared with requireRole().

export function quotaMiddleware(store: QuotaStore, cfg: QuotasConfig, log: Logger): MiddlewareHandler<AppEnv> {
  const exempt = new PathMatcher(cfg.exemptPaths);
  const networks = new NetworkPolicy({
    ipv4Prefix: cfg.ipv4Prefix,
    ipv6Prefix: cfg.ipv6Prefix,
    allowlist: cfg.allowlist.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== null),
  });
  const minCharge = cfg.minChargeS;

  return async (c, next) => {
    if (exempt.matches(c.req.path)) return next();
    const netKey = networks.keyFor(c.get("clientIp"));
    if (netKey === null) return next(); // allowlisted network

    const session = c.req.header("authorization") ? await sessionOf(c) : null;
    const acctKey = session ? `a:${session.accountId}` : null;

    let wait: number;
    try {
      wait = store.retryAfter(netKey, acctKey);
    } catch (err) {
      // The quota store is a safeguard, not a dependency: if it fails, serve and say so in the log.
      log.error({ req_id: c.get("requestId"), err: (err as Error).message }, "quota check failed");
      return next();
    }
    if (wait > 0) {
      c.header("Retry-After", String(wait));
      c.header("X-RateLimit-Remaining", "0");
      return jsonError(c, 429, "quota exceeded", { retry_after_s: wait });
    }

    const t0 = performance.now();
    await next();
    const used = Math.max(minCharge, (performance.now() - t0) / 1000);
    let remaining: number;
    try {
      remaining = store.charge(netKey, acctKey, used);
    } catch (err) {
      log.error({ req_id: c.get("requestId"), err: (err as Error).message }, "quota charge failed");
      return;
    }
    try {
      c.res.headers.set("X-RateLimit-Remaining", String(Math.max(0, Math.floor(remaining))));
    } catch {
      // A response with immutable headers (e.g. passed through from fetch) goes out without it.
    }
  };
}
