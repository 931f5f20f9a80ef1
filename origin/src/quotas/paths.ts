// Paths that never draw on a quota: probes submitting measurements or checking in must not be
// starved by heavy Explorer/API users sharing their network (a whole country can sit behind a few
// CGNAT /24s), and health checks must always answer. "*" at the end of an entry matches a prefix.

export class PathMatcher {
  readonly #exact: Set<string>;
  readonly #prefixes: string[];

  constructor(patterns: string[]) {
    this.#exact = new Set(patterns.filter((p) => !p.endsWith("*")));
    this.#prefixes = patterns.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));
  }

  matches(path: string): boolean {
    if (this.#exact.has(path)) return true;
    for (const p of this.#prefixes) if (path.startsWith(p)) return true;
    return false;
  }
}
