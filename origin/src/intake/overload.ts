// Load shedding for the submission endpoints: refusing early with 503 + Retry-After (a probe keeps
// the measurement and submits it again later) is better than taking a body the process has no
// memory or time left for. Two triggers: the origin's resident memory above INTAKE_SHED_RSS_MB,
// checked before a body is read, and too many bytes already waiting for the parse thread.

export const OVERLOAD_RETRY_AFTER_S = 10;

export class Overloaded extends Error {
  constructor(
    readonly reason: "memory" | "parse_queue" | "parse_thread",
    message: string,
  ) {
    super(message);
    this.name = "Overloaded";
  }
}

/** Throws Overloaded when the process holds more than `limitBytes` resident; 0 = never. */
export function shedOnMemory(limitBytes: number, rss: () => number = () => process.memoryUsage.rss()): void {
  if (limitBytes <= 0) return;
  const now = rss();
  if (now > limitBytes) throw new Overloaded("memory", `resident memory ${now} bytes is above ${limitBytes}`);
}
