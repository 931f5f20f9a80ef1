import { errorCode, FAILURE, OoniFailure } from "./failures";
import type { Resolver } from "./resolver";

// A lookup that does not invent interference. One slow getaddrinfo (a resolver retrying upstream,
// a lost UDP packet) used to hit our 4 s deadline and come back as `dns: unknown_error`, which the
// probe read as DNS blocking for sites that were fine. So: ask again while the first attempt is
// still out (hedging), retry after transient errors, and report a failure only when the name
// really fails — a definitive answer (NXDOMAIN, no records) — or when the whole budget is spent,
// with the last error seen. The budget stays inside the probe's: see DNS_BUDGET_MS.

/** Whole DNS budget. The edge gives a helper 20 s per attempt; 8 s DNS + 11 s of connects fits. */
export const DNS_BUDGET_MS = 8_000;
/** When extra attempts start if nothing has answered yet. */
export const HEDGE_AT_MS: readonly number[] = [1_000, 3_000];
/**
 * Hedges start only while fewer lookups than this are out, process-wide. getaddrinfo runs on libuv's
 * pool of 4 threads: past that, a hedge would only queue behind (and delay) everyone's first attempt.
 */
export const HEDGE_WHILE_OUTSTANDING_BELOW = 4;
let outstanding = 0;

/** Lookups started and not yet settled, in this process (tests). */
export function outstandingLookups(): number {
  return outstanding;
}

/** Pause before retrying after every attempt out has failed transiently. */
const RETRY_PAUSE_MS = 250;

/**
 * Why attempts still out are told to stop once the lookup has settled. Nobody reads it (the answer is
 * already given); one shared reason spares every lookup the DOMException, stack trace included, that
 * a bare abort() builds.
 */
const SETTLED = new OoniFailure(FAILURE.interrupted, "resolve");

/** Answers that are the truth about the name: asking again would only repeat them. */
const DEFINITIVE = new Set(["ENOTFOUND", "ENODATA", "EAI_NODATA", "EAI_NONAME"]);

function isDefinitive(err: unknown): boolean {
  if (err instanceof OoniFailure) return err.failure === FAILURE.dnsNxdomain || err.failure === FAILURE.dnsNoAnswer;
  const code = errorCode(err);
  return code !== undefined && DEFINITIVE.has(code);
}

export interface HedgeOptions {
  budgetMs?: number;
  hedgeAtMs?: readonly number[];
}

/**
 * Resolves `domain` with `resolver`, hedged and retried within the budget. Rejects with the
 * definitive error, or at the end of the budget with the last transient error (a generic timeout
 * when no attempt came back at all), or with `signal`'s reason when the caller gives up.
 */
export function hedgedLookup(resolver: Resolver, domain: string, signal: AbortSignal, opts: HedgeOptions = {}): Promise<string[]> {
  const budget = opts.budgetMs ?? DNS_BUDGET_MS;
  const hedges = opts.hedgeAtMs ?? HEDGE_AT_MS;
  return new Promise<string[]>((resolve, reject) => {
    const ac = new AbortController();
    const timers: NodeJS.Timeout[] = [];
    let out = 0;
    let lastError: unknown;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      signal.removeEventListener("abort", onAbort);
      ac.abort(SETTLED);
      fn();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    const attempt = () => {
      if (settled) return;
      out++;
      // Out until it settles, or until we stop waiting for it (a resolver that ignores its signal
      // and never settles must not switch hedging off for good).
      outstanding++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        outstanding--;
      };
      ac.signal.addEventListener("abort", release, { once: true });
      resolver(domain, ac.signal).finally(release).then(
        (addrs) => finish(() => resolve(addrs)),
        (err: unknown) => {
          out--;
          if (settled) return;
          if (isDefinitive(err)) return finish(() => reject(err));
          lastError = err;
          // Nothing else in flight: try again shortly rather than wait for the next hedge.
          if (out === 0) timers.push(setTimeout(attempt, RETRY_PAUSE_MS));
        },
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    timers.push(setTimeout(() => finish(() => reject(lastError ?? new OoniFailure(FAILURE.genericTimeout, "resolve"))), budget));
    const hedge = () => {
      if (out > 0 && outstanding < HEDGE_WHILE_OUTSTANDING_BELOW) attempt();
    };
    for (const at of hedges) if (at < budget) timers.push(setTimeout(hedge, at));
    attempt();
  });
}
