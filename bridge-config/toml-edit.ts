// Line-level edits of the operator's TOML that keep every comment and the layout: add, remove or
// change one entry of an array of tables ([[helpers.pool]], [[domains]], …). Each edit is checked
// by decoding the result and comparing it with the intended change to the decoded data; an edit
// that would come out differently (an unusual layout, inline arrays) is refused, never written.
import { parse as parseToml } from "smol-toml";

export type TomlValue = string | number | boolean;

const HEADER = /^\s*(\[\[?)\s*([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*(\]\]?)\s*(?:#.*)?$/;

interface Block {
  /** "[[helpers.pool]]", "[origin]", … */
  header: string;
  start: number;
  /** Exclusive; comments and blank lines just before the next header belong to that header. */
  end: number;
}

function blocks(lines: string[]): Block[] {
  const starts: { header: string; start: number }[] = [];
  lines.forEach((line, i) => {
    const m = HEADER.exec(line);
    if (m && m[1]!.length === m[3]!.length) starts.push({ header: `${m[1]}${m[2]!.replace(/\s+/g, "")}${m[3]}`, start: i });
  });
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]!.start : lines.length;
    while (end > s.start + 1 && /^\s*(#.*)?$/.test(lines[end - 1]!)) end--;
    return { ...s, end };
  });
}

export function formatValue(v: TomlValue): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v}`);
    return String(v);
  }
  return v ? "true" : "false";
}

const entryLines = (entries: [string, TomlValue][]) => entries.map(([k, v]) => `${k} = ${formatValue(v)}`);

/** Appends an entry to the array of tables at `path` ("env.staging.domains"), after its last entry. */
export function appendEntry(text: string, path: string, entries: [string, TomlValue][]): string {
  const lines = text.split("\n");
  const all = blocks(lines);
  const mine = all.filter((b) => b.header === `[[${path}]]`);
  const add = [`[[${path}]]`, ...entryLines(entries)];
  if (mine.length) {
    const at = mine.at(-1)!.end;
    lines.splice(at, 0, "", ...add);
    return lines.join("\n");
  }
  // The first entry of a top-level array goes before the environments, where a reader looks for it.
  const firstEnv = path.startsWith("env.") ? undefined : all.find((b) => b.header.replace(/^\[+/, "").startsWith("env."));
  if (firstEnv) {
    let at = firstEnv.start;
    while (at > 0 && /^\s*#/.test(lines[at - 1]!)) at--;
    lines.splice(at, 0, ...add, "");
    return lines.join("\n");
  }
  while (lines.length && lines.at(-1) === "") lines.pop();
  return [...lines, "", ...add, ""].join("\n");
}

function entryBlock(lines: string[], path: string, index: number): Block {
  const b = blocks(lines).filter((x) => x.header === `[[${path}]]`)[index];
  if (!b) throw new EditError(`no [[${path}]] entry number ${index + 1} written as a table header`);
  return b;
}

/** Removes the `index`-th entry of the array of tables at `path`. */
export function removeEntry(text: string, path: string, index: number): string {
  const lines = text.split("\n");
  const b = entryBlock(lines, path, index);
  let start = b.start;
  // Keep one blank line between neighbours rather than two.
  if (start > 0 && lines[start - 1] === "" && (lines[b.end] === "" || b.end === lines.length)) start--;
  lines.splice(start, b.end - start);
  return lines.join("\n");
}

/** Sets `key` in the `index`-th entry of the array of tables at `path`. */
export function setInEntry(text: string, path: string, index: number, key: string, value: TomlValue): string {
  const lines = text.split("\n");
  const b = entryBlock(lines, path, index);
  const keyRe = new RegExp(`^(\\s*)${key}\\s*=`);
  for (let i = b.start + 1; i < b.end; i++) {
    const m = keyRe.exec(lines[i]!);
    if (m) {
      lines[i] = `${m[1]}${key} = ${formatValue(value)}`;
      return lines.join("\n");
    }
  }
  lines.splice(b.end, 0, `${key} = ${formatValue(value)}`);
  return lines.join("\n");
}

export class EditError extends Error {}

/** Sorted-key JSON: the comparison must not depend on key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object" && !(v instanceof Date)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Throws EditError unless `edited` decodes to exactly `expected`. */
export function verifyEdit(edited: string, expected: unknown): void {
  let decoded: unknown;
  try {
    decoded = parseToml(edited);
  } catch (err) {
    throw new EditError(`the edit would not be valid TOML (${(err as Error).message.split("\n")[0]})`);
  }
  if (canonical(decoded) !== canonical(expected)) throw new EditError("the edit would change more than intended");
}
