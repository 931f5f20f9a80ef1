// Python value semantics over parsed JSON. The upstream fastpath is Python: its truthiness,
// `==` (1 == True == 1.0), `in` and `dict.get` decide the scores, so the port emulates them
// instead of guessing with JavaScript's rules.

export type Dict = Record<string, unknown>;

/** A JSON object (what Python sees as a dict). */
export function isDict(v: unknown): v is Dict {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `d.get(key)`: own properties only, so "constructor" or "__proto__" never leak in. */
export function own(d: Dict, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(d, key) ? d[key] : undefined;
}

export function has(d: Dict, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(d, key);
}

/** `dget_or`: the default when the key is missing or null. */
export function getOr(d: Dict, key: string, dflt: unknown): unknown {
  const v = own(d, key);
  return v === undefined || v === null ? dflt : v;
}

/** `d.get(key)` with None for a missing key: undefined never escapes into scores. */
export function get(d: Dict, key: string): unknown {
  const v = own(d, key);
  return v === undefined ? null : v;
}

/** Python truthiness of a JSON value. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) {
    for (const k in v) if (has(v, k)) return true;
    return false;
  }
  return true;
}

/** Python `==` between JSON values: booleans are numbers, containers compare deeply. */
export function pyEq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const an = typeof a === "number" || typeof a === "boolean";
  const bn = typeof b === "number" || typeof b === "boolean";
  if (an || bn) return an && bn && Number(a) === Number(b);
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === "string" || typeof b === "string") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!pyEq(a[i], b[i])) return false;
    return true;
  }
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!has(b, k) || !pyEq(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** Iterating a value the way a Python `for` loop does; null where Python raises TypeError. */
export function pyIter(v: unknown): readonly unknown[] | null {
  if (Array.isArray(v)) return v;
  if (typeof v === "string") return Array.from(v);
  if (isDict(v)) return Object.keys(v);
  return null;
}

/** `len(v)`; null where Python raises TypeError. */
export function pyLen(v: unknown): number | null {
  if (Array.isArray(v)) return v.length;
  if (typeof v === "string") return Array.from(v).length;
  if (isDict(v)) return Object.keys(v).length;
  return null;
}

/** `item in container`; null where Python raises TypeError. */
export function pyIn(item: unknown, container: unknown): boolean | null {
  if (typeof container === "string") {
    return typeof item === "string" ? container.includes(item) : null;
  }
  if (Array.isArray(container)) {
    for (const x of container) if (pyEq(x, item)) return true;
    return false;
  }
  if (isDict(container)) {
    // Only str keys exist in JSON objects; unhashable items raise.
    if (Array.isArray(item) || isDict(item)) return null;
    return typeof item === "string" && has(container, item);
  }
  return null;
}

/** `x[0]` on a JSON value; undefined where Python raises. */
export function pyFirst(v: unknown): { value: unknown } | undefined {
  if (Array.isArray(v)) return v.length > 0 ? { value: v[0] } : undefined;
  if (typeof v === "string") {
    const cp = v.codePointAt(0);
    return cp === undefined ? undefined : { value: String.fromCodePoint(cp) };
  }
  return undefined;
}

/** Whether Python could use the value as a dict key or set member. */
export function hashable(v: unknown): boolean {
  return !Array.isArray(v) && !isDict(v);
}

/** A canonical key for hashable values honouring 1 == 1.0 == True. */
export function hashKey(v: unknown): string {
  if (typeof v === "boolean") return `n${Number(v)}`;
  if (typeof v === "number") return `n${v}`;
  if (typeof v === "string") return `s${v}`;
  return "0";
}

const FLOAT_RE = /^[+-]?(?:(?:\d(?:_?\d)*)?\.?\d(?:_?\d)*(?:[eE][+-]?\d(?:_?\d)*)?|\d(?:_?\d)*\.(?:[eE][+-]?\d(?:_?\d)*)?)$/;
const SPECIAL_FLOAT_RE = /^([+-]?)(inf|infinity|nan)$/i;

/** `float(v)`; null where Python raises. */
export function pyFloat(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v !== "string") return null;
  const s = v.trim();
  const special = SPECIAL_FLOAT_RE.exec(s);
  if (special) {
    if (special[2]!.toLowerCase() === "nan") return Number.NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  if (!FLOAT_RE.test(s)) return null;
  return Number(s.replaceAll("_", ""));
}

const INT_RE = /^[+-]?\d(?:_?\d)*$/;

/** `int(v)`; null where Python raises ValueError or TypeError. */
export function pyInt(v: unknown): number | null {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v !== "string") return null;
  const s = v.trim();
  if (!INT_RE.test(s)) return null;
  return Number(s.replaceAll("_", ""));
}

function reprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

function reprNum(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  // JSON cannot tell 1 from 1.0; integers are rendered as Python ints.
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  const s = String(n);
  return s.includes("e") ? s.replace(/e([+-])(\d)$/, "e$10$2") : s;
}

/** Python `repr()` of a JSON value (best effort: ints and floats are indistinguishable). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return reprNum(v);
  if (typeof v === "string") return reprStr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isDict(v)) {
    return `{${Object.keys(v)
      .map((k) => `${reprStr(k)}: ${pyRepr(v[k])}`)
      .join(", ")}}`;
  }
  return String(v);
}

/** Python `str()` of a JSON value, as used by `"{}".format(v)`. */
export function pyStr(v: unknown): string {
  return typeof v === "string" ? v : pyRepr(v);
}
