// The operator's test-helper hostnames: the only place where the name a client used matters.
// "*.th.example.org" matches any name ending in ".th.example.org"; other entries match exactly.

export interface HostnameMatcher {
  readonly exact: ReadonlySet<string>;
  /** ".th.example.org" for "*.th.example.org". */
  readonly suffixes: readonly string[];
}

export function compileHostnames(patterns: readonly string[]): HostnameMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const p of patterns) {
    if (p.startsWith("*.")) suffixes.push(p.slice(1));
    else exact.add(p);
  }
  return { exact, suffixes };
}

/** `hostname` as URL.hostname gives it (lowercase, no port); a trailing dot is ignored. */
export function matchesHostname(m: HostnameMatcher, hostname: string): boolean {
  if (m.exact.size === 0 && m.suffixes.length === 0) return false;
  const host = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  if (m.exact.has(host)) return true;
  for (const s of m.suffixes) if (host.length > s.length && host.endsWith(s)) return true;
  return false;
}
