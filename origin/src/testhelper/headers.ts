// Header handling for the measured fetch, shaped like Go's net/http so probes can compare our
// http_request.headers with what their own Go client saw.

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** textproto.CanonicalMIMEHeaderKey: "content-type" → "Content-Type"; non-tokens stay as they are. */
export function canonicalHeaderKey(name: string): string {
  if (!TOKEN_RE.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/** Response headers as {Canonical-Name: first value}, like Header.Get for every name; keys sorted. */
export function firstValues(rawHeaders: readonly string[]): Record<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = canonicalHeaderKey(rawHeaders[i] ?? "");
    if (!out.has(key)) out.set(key, rawHeaders[i + 1] ?? "");
  }
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** All values of one response header, any case. */
export function allValues(rawHeaders: readonly string[], name: string): string[] {
  const want = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === want) out.push(rawHeaders[i + 1] ?? "");
  }
  return out;
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
