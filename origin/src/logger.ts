import { pino, type Logger } from "pino";

export type { Logger };

// JSON lines on stdout; operators ship them as they are.
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: "origin", ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
