import fc from "fast-check";

// fast-check arbitraries derived from the OpenAPI 3.1 document the app generates: values that
// satisfy a JSON Schema (types, enums, formats, patterns, bounds), hostile strings, and mutations
// of valid values, so every declared parameter and body is exercised near and far from validity.
// Only the subset of JSON Schema that our zod routes emit is understood; anything else falls back
// to arbitrary JSON, which is still a fine fuzz input.

export type Schema = Record<string, any>;
type Doc = Record<string, any>;

export function deref(doc: Doc, s: Schema | undefined): Schema {
  let cur = s ?? {};
  for (let i = 0; i < 20 && typeof cur.$ref === "string"; i++) {
    const parts = (cur.$ref as string).replace(/^#\//, "").split("/");
    cur = parts.reduce((o: any, k) => o?.[k], doc) ?? {};
  }
  return cur;
}

/** Strings no validator expects: traversal, NULs, bad escapes, unicode edge cases, huge, empty. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "../",
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%00",
    "\u0000",
    "a\u0000b",
    "%",
    "%zz",
    "%ff%fe",
    "\uD800",
    "\uFFFF",
    "🙂",
    "ﬀ",
    "İ",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "1e309",
    "-1",
    "0",
    "0x10",
    "9".repeat(40),
    "18446744073709551616",
    "true",
    "null",
    "undefined",
    "[]",
    "{}",
    "__proto__",
    "constructor",
    "' OR 1=1 --",
    "'; DROP TABLE fastpath; --",
    "{name:String}",
    "\\",
    "\r\n",
    "a,b,,c,",
    ",,,",
    "AS",
    "AS-1",
    "AS99999999999",
    "2024-13-45",
    "2024-02-30T25:61:00Z",
    "0000-01-01",
    "0100-01-01",
    "1900-01-01",
    "1969-12-31T23:59:59Z",
    "2106-02-07T06:28:16Z",
    "2200-01-01",
    "9999-12-31T23:59:59-14:00",
    "2024-01-01T00:00:00.9999999999Z",
    "9999-12-31T23:59:59.999999Z",
    "x".repeat(5000),
    "é".repeat(3000),
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ maxLength: 300 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.array(fc.constantFrom("a", "A", "1", ",", "_", "-", ".", ":", "/", "%", " ", "é"), { maxLength: 60 }).map((a) => a.join("")),
);

const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, -(2 ** 63) - 1, 5e-324),
  hostileString,
);

/** Arbitrary JSON, sometimes with keys that poison naive object handling. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, jsonLeaf, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("__proto__", "constructor", "prototype", "toString")), tie("value"), {
    maxKeys: 5,
  }),
})).value;

function formatString(format: string): fc.Arbitrary<string> | null {
  switch (format) {
    case "date-time":
      return fc
        .date({ min: new Date("2012-01-01T00:00:00Z"), max: new Date("2032-01-01T00:00:00Z"), noInvalidDate: true })
        .map((d) => d.toISOString());
    case "date":
      return fc.date({ min: new Date("2012-01-01T00:00:00Z"), max: new Date("2032-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case "email":
      return fc.emailAddress();
    case "uri":
    case "url":
      return fc.webUrl();
    case "ip":
    case "ipv4":
      return fc.ipV4();
    case "ipv6":
      return fc.ipV6();
    default:
      return null;
  }
}

function patternString(pattern: string): fc.Arbitrary<string> | null {
  try {
    return fc.stringMatching(new RegExp(pattern));
  } catch {
    return null;
  }
}

function stringFor(s: Schema): fc.Arbitrary<string> {
  const candidates: fc.Arbitrary<string>[] = [];
  // The documented example is the best-informed valid value: weighted up for free-form strings
  // (comma lists, URLs) that a random string would almost never satisfy.
  const free = !s.format && !s.pattern;
  if (typeof s.example === "string") candidates.push(...Array<fc.Arbitrary<string>>(free ? 4 : 1).fill(fc.constant(s.example)));
  if (typeof s.default === "string") candidates.push(fc.constant(s.default));
  const byFormat = s.format ? formatString(s.format) : null;
  if (byFormat) candidates.push(byFormat);
  const byPattern = s.pattern ? patternString(s.pattern) : null;
  if (byPattern) candidates.push(byPattern);
  if (!byFormat && !byPattern) {
    const min = s.minLength ?? 0;
    const max = Math.min(s.maxLength ?? min + 30, min + 60);
    candidates.push(fc.string({ minLength: min, maxLength: max }));
  }
  let arb = fc.oneof(...candidates);
  if (typeof s.maxLength === "number") arb = arb.map((v) => v.slice(0, s.maxLength));
  return arb;
}

function numberFor(s: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum + 1 : -1000;
  const max = typeof s.maximum === "number" ? s.maximum : typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum - 1 : Math.max(min, 0) + 1000;
  const lo = Math.max(min, -Number.MAX_SAFE_INTEGER);
  const hi = Math.min(max, Number.MAX_SAFE_INTEGER);
  if (integer) return fc.oneof(fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }), fc.constantFrom(Math.ceil(lo), Math.floor(hi)));
  return fc.double({ min: lo, max: hi, noNaN: true });
}

/** A value that satisfies the schema (best effort: some cross-field rules are beyond JSON Schema). */
export function valueFor(doc: Doc, schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(doc, schema);
  if (depth > 6) return fc.constant(null);
  if (Array.isArray(s.enum) && s.enum.length) return fc.constantFrom(...s.enum);
  if ("const" in s) return fc.constant(s.const);
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts) && alts.length) return fc.oneof(...alts.map((a: Schema) => valueFor(doc, a, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length) {
    const merged = s.allOf.reduce((acc: Schema, part: Schema) => {
      const p = deref(doc, part);
      return { ...acc, ...p, properties: { ...acc.properties, ...p.properties }, required: [...(acc.required ?? []), ...(p.required ?? [])] };
    }, {});
    return valueFor(doc, merged, depth + 1);
  }
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((t) => valueFor(doc, { ...s, type: t }, depth)));
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return numberFor(s, true);
    case "number":
      return numberFor(s, false);
    case "string":
      return stringFor(s);
    case "array": {
      const min = s.minItems ?? 0;
      const max = Math.min(s.maxItems ?? min + 4, min + 4);
      if (Array.isArray(s.prefixItems)) return fc.tuple(...s.prefixItems.map((p: Schema) => valueFor(doc, p, depth + 1)));
      return fc.array(valueFor(doc, s.items, depth + 1), { minLength: min, maxLength: max });
    }
    case "object": {
      const props: Record<string, Schema> = s.properties ?? {};
      const required = new Set<string>(s.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) record[k] = valueFor(doc, v, depth + 1);
      const requiredKeys = Object.keys(props).filter((k) => required.has(k));
      const base = fc.record(record, { requiredKeys });
      if (s.additionalProperties && typeof s.additionalProperties === "object" && Object.keys(props).length === 0) {
        return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), valueFor(doc, s.additionalProperties, depth + 1), { maxKeys: 3 });
      }
      return base;
    }
    default:
      return depth > 2 ? jsonLeaf : anyJson;
  }
}

/** A valid value pushed just off the edge: wrong type, trimmed, padded, case-flipped, listified. */
export function nearValid(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.nat(11), hostileString).map(([v, how, junk]) => {
    const s = typeof v === "string" ? v : JSON.stringify(v) ?? "";
    switch (how) {
      case 0:
        return s.slice(0, -1);
      case 1:
        return s + junk;
      case 2:
        return s.toUpperCase();
      case 3:
        return s.toLowerCase();
      case 4:
        return `${s},${s}`;
      case 5:
        return ` ${s} `;
      case 6:
        return typeof v === "number" ? String(v) : Number(s.length);
      case 7:
        return [v];
      case 8:
        return typeof v === "string" ? { v } : String(v);
      case 9:
        return s.repeat(50);
      case 10:
        return `${s}\u0000`;
      default:
        return null;
    }
  });
}

/**
 * Stands for a value nested thousands of levels deep: too deep to build and JSON.stringify here,
 * so it travels as this marker and `serializeJson` splices the nested text in.
 */
export const DEEP_MARKER = "\u0000deep-nesting\u0000";
const DEEP_TEXT = '{"a":['.repeat(10_000) + "1" + "]}".repeat(10_000);

/** JSON text of a generated value, with every DEEP_MARKER replaced by 20,000 levels of nesting. */
export function serializeJson(v: unknown): string {
  const text = JSON.stringify(v) ?? "null";
  return text.includes(JSON.stringify(DEEP_MARKER)) ? text.split(JSON.stringify(DEEP_MARKER)).join(DEEP_TEXT) : text;
}

/** Every object inside a JSON value (the value itself first), so an edit can land at any depth. */
function objectsIn(v: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const stack = [v];
  while (stack.length) {
    const x = stack.pop();
    if (x === null || typeof x !== "object") continue;
    if (!Array.isArray(x)) out.push(x as Record<string, unknown>);
    stack.push(...(Array.isArray(x) ? x : Object.values(x)).reverse());
  }
  return out;
}

/**
 * A schema-shaped object mutated the way a hostile client would, at the top or in any nested
 * object: a field dropped, retyped or replaced, unknown and prototype-polluting keys, very deep
 * nesting, huge numbers and strings.
 */
export function mutatedObject(doc: Doc, schema: Schema | undefined, valid?: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const s = deref(doc, schema);
  const props = Object.keys(s.properties ?? {});
  const key = props.length ? fc.oneof(fc.constantFrom(...props), fc.string({ maxLength: 10 })) : fc.string({ maxLength: 10 });
  return fc
    .tuple(valid ?? valueFor(doc, s), fc.array(fc.tuple(fc.nat(9), fc.nat(), key, anyJson), { minLength: 1, maxLength: 2 }))
    .map(([base, edits]) => {
      if (typeof base !== "object" || base === null || Array.isArray(base)) return base;
      // JSON round trip: plain objects, whose own "__proto__" key is data once serialized.
      const root = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
      for (const [how, where, k, junk] of edits) {
        const targets = objectsIn(root);
        const o = where % 3 === 0 ? root : targets[where % targets.length]!;
        switch (how) {
          case 0:
            delete o[k];
            break;
          case 1:
            o[k] = junk;
            break;
          case 2:
            o[`${k}_extra`] = junk;
            break;
          case 3:
            Object.defineProperty(o, "__proto__", { value: { [k]: junk, admin: true }, enumerable: true, configurable: true, writable: true });
            break;
          case 4:
            o["constructor"] = { prototype: { [k]: junk } };
            break;
          case 5:
            o[k] = DEEP_MARKER;
            break;
          case 6:
            o[k] = [1e308, -1e308, 2 ** 64, Number.MAX_SAFE_INTEGER + 2][k.length % 4];
            break;
          case 7:
            o[k] = ["NaN", "Infinity", "-0", "1e999"][k.length % 4];
            break;
          case 8:
            o[k] = "x".repeat(100_000);
            break;
          default:
            o[k] = o[k] === undefined ? junk : [o[k]];
        }
      }
      return root;
    });
}
