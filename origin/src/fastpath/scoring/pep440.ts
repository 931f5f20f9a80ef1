// PEP 440 version parsing and ordering (what Python's packaging.version.Version does), for the
// signal scorer's "test_version <= 0.2.3" style rules. Invalid versions parse to null, where
// Python raises InvalidVersion.

const VERSION_RE = new RegExp(
  "^\\s*v?" +
    "(?:(?<epoch>[0-9]+)!)?" +
    "(?<release>[0-9]+(?:\\.[0-9]+)*)" +
    "(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?" +
    "(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?" +
    "(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?" +
    "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?" +
    "\\s*$",
  "i",
);

export interface Version {
  readonly epoch: number;
  readonly release: readonly number[];
  /** [rank, n]: a < b < rc; undefined when not a pre-release. */
  readonly pre: readonly [number, number] | undefined;
  readonly post: number | undefined;
  readonly dev: number | undefined;
  readonly local: readonly (number | string)[] | undefined;
}

const PRE_RANK: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

export function parseVersion(v: unknown): Version | null {
  if (typeof v !== "string") return null;
  const m = VERSION_RE.exec(v);
  if (!m?.groups) return null;
  const g = m.groups;
  const num = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  return {
    epoch: num(g.epoch),
    release: g.release!.split(".").map(Number),
    pre: g.pre_l === undefined ? undefined : [PRE_RANK[g.pre_l.toLowerCase()]!, num(g.pre_n)],
    post: g.post === undefined ? undefined : num(g.post_n1 ?? g.post_n2),
    dev: g.dev === undefined ? undefined : num(g.dev_n),
    local:
      g.local === undefined
        ? undefined
        : g.local
            .toLowerCase()
            .split(/[-_.]/)
            .map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p)),
  };
}

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpRelease(a: readonly number[], b: readonly number[]): number {
  // Trailing zeros do not count: 1.0 == 1.0.0.
  const trim = (r: readonly number[]) => {
    let n = r.length;
    while (n > 0 && r[n - 1] === 0) n--;
    return r.slice(0, n);
  };
  const x = trim(a);
  const y = trim(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (i >= x.length) return -1;
    if (i >= y.length) return 1;
    const c = cmpNum(x[i]!, y[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

// Sort keys as in packaging: a dev release without pre/post sorts before any pre-release.
function preKey(v: Version): [number, number, number] {
  if (v.pre === undefined && v.post === undefined && v.dev !== undefined) return [-1, 0, 0];
  if (v.pre === undefined) return [1, 0, 0];
  return [0, v.pre[0], v.pre[1]];
}

function cmpLocal(a: Version["local"], b: Version["local"]): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x === "number" && typeof y === "number") {
      const c = cmpNum(x, y);
      if (c !== 0) return c;
    } else if (typeof x === "number") return 1; // numbers sort after strings
    else if (typeof y === "number") return -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function compareVersions(a: Version, b: Version): number {
  let c = cmpNum(a.epoch, b.epoch);
  if (c !== 0) return c;
  c = cmpRelease(a.release, b.release);
  if (c !== 0) return c;
  const pa = preKey(a);
  const pb = preKey(b);
  for (let i = 0; i < 3; i++) {
    c = cmpNum(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  c = cmpNum(a.post ?? -1, b.post ?? -1);
  if (c !== 0) return c;
  c = cmpNum(a.dev ?? Infinity, b.dev ?? Infinity);
  if (c !== 0) return c;
  return cmpLocal(a.local, b.local);
}
