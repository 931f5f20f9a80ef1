// One active health check: the configured request (GET / by default), answered with the expected
// status and body text within the timeout.
import type { HealthCheckConfig } from "../../../bridge-config/schema";

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export async function checkHelper(baseUrl: string, check: HealthCheckConfig): Promise<CheckResult> {
  const started = Date.now();
  try {
    const res = await fetch(new URL(check.path, baseUrl), {
      method: check.method,
      headers: check.method === "POST" ? { "content-type": "application/json", "user-agent": "ooni-bridge-healthcheck" } : { "user-agent": "ooni-bridge-healthcheck" },
      body: check.method === "POST" ? check.body : null,
      redirect: "manual",
      signal: AbortSignal.timeout(check.timeout_ms),
    });
    const text = await res.text();
    const ms = Date.now() - started;
    if (res.status !== check.expect_status) return { ok: false, detail: `status ${res.status} (expected ${check.expect_status}) in ${ms} ms` };
    if (check.expect_body && !text.includes(check.expect_body)) return { ok: false, detail: `answer lacks "${check.expect_body}" (${ms} ms)` };
    return { ok: true, detail: `status ${res.status} in ${ms} ms` };
  } catch (err) {
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") return { ok: false, detail: `timeout after ${check.timeout_ms} ms` };
    return { ok: false, detail: `connect error: ${(err as Error).message}`.slice(0, 200) };
  }
}
