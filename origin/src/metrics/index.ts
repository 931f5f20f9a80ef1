// Prometheus metrics (docs/operations.md#metrics): the process-wide registry with its hooks, the
// request middleware and the /metrics route.
export { metrics, Metrics } from "./registry";
export type { TimerOutcome } from "./registry";
export { metricsRoutes, requestMetricsMiddleware } from "./http";
