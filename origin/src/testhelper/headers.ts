// Header handling for the measured fetch, shaped like Go's net/http so probes can compare our
// http_request.headers with what their own Go client saw.

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** textproto.CanonicalMIMEHeaderKey: "content-type" → "Content-Type"; non-tokens stay as they are. */
export function canonicalHeaderKey(name: string): string {
  if (!TOKEN_RE.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/** Header.Get for every name: {name: first value}, keys sorted (fields are already named as Go names them). */
export function firstValues(fields: readonly (readonly [string, string])[]): Record<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of fields) if (!out.has(k)) out.set(k, v);
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// oohelperd forwards these and drops everything else the probe sent.
const FORWARDED = new Set(["accept", "accept-language", "user-agent"]);

/** The probe's headers we send to the measured site: Accept, Accept-Language, User-Agent only. */
export function forwardedHeaders(probeHeaders: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(probeHeaders)) {
    if (!FORWARDED.has(name.toLowerCase()) || values.length === 0) continue;
    const key = canonicalHeaderKey(name);
    out[key] = [...(out[key] ?? []), ...values];
  }
  return out;
}
