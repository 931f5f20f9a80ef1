import { setMaxListeners } from "node:events";
import { FAILURE, OoniFailure } from "./failures";

/**
 * A per-step signal that aborts with an OoniFailure as its reason, so whoever sees the resulting error
 * can tell our timeout (generic_timeout_error) from the client going away (interrupted).
 */
export interface Deadline {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function deadline(parent: AbortSignal | undefined, timeoutMs: number): Deadline {
  const ac = new AbortController();
  // Each hop of a redirect chain listens on the same signal; don't warn about a "leak".
  setMaxListeners(64, ac.signal);
  const timer = setTimeout(() => ac.abort(new OoniFailure(FAILURE.genericTimeout)), timeoutMs);
  const onParentAbort = () => ac.abort(new OoniFailure(FAILURE.interrupted));
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: ac.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

/** Once a signal has fired, its reason is the truth about any error that followed. */
export function abortReason(signal: AbortSignal): OoniFailure | undefined {
  return signal.aborted && signal.reason instanceof OoniFailure ? signal.reason : undefined;
}

/** For work that cannot be cancelled (getaddrinfo): stop waiting for it when the signal fires. */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * One signal per measurement, so the steps' listeners (one per endpoint, possibly dozens) pile up
 * here instead of on the request's signal, where Node would warn about a listener leak.
 */
export function measurementScope(parent: AbortSignal | undefined): Deadline {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const onParentAbort = () => ac.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: ac.signal,
    dispose() {
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}
