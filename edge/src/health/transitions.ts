// Rise/fall: a helper goes down after `fall` consecutive failures (active checks and proxied requests
// both count) and comes back after `rise` consecutive successful active checks. A successful check
// of an up helper clears its failure count, so occasional errors spread over time do not add up.
import type { HelperHealth } from "../state/types";

export function newHealth(id: string, at: number): HelperHealth {
  return { id, up: true, since: at, failures: 0, successes: 0, last_check: null };
}

/** Returns true when `up` changed. */
export function applyCheck(h: HelperHealth, ok: boolean, detail: string, at: number, rise: number, fall: number): boolean {
  h.last_check = { at, ok, detail };
  if (ok) {
    h.failures = 0;
    if (h.up) return false;
    h.successes++;
    if (h.successes < rise) return false;
    h.up = true;
  } else {
    h.successes = 0;
    if (!h.up) return false;
    h.failures++;
    if (h.failures < fall) return false;
    h.up = false;
  }
  h.since = at;
  h.failures = 0;
  h.successes = 0;
  return true;
}

/** A proxied request failed (connect error, timeout, 5xx). Returns true when the helper went down. */
export function applyPassiveFailure(h: HelperHealth, at: number, fall: number): boolean {
  if (!h.up) return false;
  h.failures++;
  if (h.failures < fall) return false;
  h.up = false;
  h.since = at;
  h.failures = 0;
  h.successes = 0;
  return true;
}
