// Free-form JSON that we store (OONI Run options, inputs_extra) is later serialised and compared
// by recursive code (JSON.stringify, canonicalJson), which overflows the call stack a few thousand
// levels down: a 200 KB body of nested objects became a 500. Nesting is bounded at the boundary,
// measured without recursion, so such a body is a 400 naming the field.

export const MAX_JSON_DEPTH = 32;

/** True when `v` nests objects or arrays deeper than `limit` levels ({"a":1} is one level). */
export function jsonDepthExceeds(v: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, depth] = stack.pop()!;
    if (x === null || typeof x !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, depth + 1]);
  }
  return false;
}
