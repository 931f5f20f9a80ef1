// Lenient readers for measurement JSON: a value of the wrong type reads as absent, as upstream's
// dataclass loading leaves a field it cannot use at its default. Probes send all kinds of things.

export type Dict = Record<string, unknown>;

export function dict(v: unknown): Dict | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Dict) : null;
}

export function arr(v: unknown): unknown[] | null {
  return Array.isArray(v) ? v : null;
}

export function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

export function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function int(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

/** 0/1 for ClickHouse Int8. */
export function bool(v: unknown): number | null {
  return typeof v === "boolean" ? (v ? 1 : 0) : null;
}
