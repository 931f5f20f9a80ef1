import type { Logger } from "../logger";
import type { QuotasConfig } from "./settings";
import { QuotaStore } from "./store";

export { QuotaStore } from "./store";
export { quotaMiddleware } from "./middleware";
export { quotaRoutes } from "./routes";

const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * Opens the shared quota store (null when QUOTAS_ENABLED=false) and starts a background sweep that
 * drops fully refilled keys, so the store holds only clients that used part of their budget.
 */
export function openQuotas(cfg: QuotasConfig, log: Logger): QuotaStore | null {
  if (!cfg.enabled) return null;
  const store = new QuotaStore({ dir: cfg.dir, network: cfg.network, account: cfg.account });
  const timer = setInterval(() => {
    try {
      const removed = store.sweep();
      if (removed) log.debug({ removed }, "quota sweep");
    } catch (err) {
      log.warn({ err: (err as Error).message }, "quota sweep failed");
    }
  }, SWEEP_EVERY_MS);
  timer.unref();
  store.onClose(() => clearInterval(timer));
  return store;
}
