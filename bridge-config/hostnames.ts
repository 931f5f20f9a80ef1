// Hostname rules for the names an operator routes to the bridge (Node only: IDNA needs node:url).
// A name is RFC 1123 labels (letters, digits, inner hyphens, 1–63 characters, 253 in all), at least
// two labels, lowercase ASCII with internationalised labels in punycode (xn--…), optionally with a
// leading "*." meaning "every name below" — the way Cloudflare routes and helpers.hostnames use it.
import { domainToASCII } from "node:url";

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export type Normalized = { ok: true; name: string; wildcard: boolean; base: string } | { ok: false; problem: string };

/** The canonical form of what an operator typed ("Bücher.Example." → "xn--bcher-kva.example"). */
export function normalizeHostname(input: string, { wildcard = true } = {}): Normalized {
  let rest = input.trim();
  if (rest.endsWith(".")) rest = rest.slice(0, -1);
  const isWild = rest.startsWith("*.");
  if (isWild) rest = rest.slice(2);
  if (isWild && !wildcard) return { ok: false, problem: `"${input}" is a wildcard, which is not allowed here` };
  if (rest.includes("*")) return { ok: false, problem: `"${input}": a wildcard is only allowed as the whole first label (*.example.org)` };
  if (/[/:@\s]/.test(rest)) return { ok: false, problem: `"${input}" is not a hostname (no scheme, port, path or spaces)` };
  // domainToASCII lowercases, maps Unicode to punycode and returns "" for what IDNA rejects.
  const ascii = domainToASCII(rest);
  if (!ascii) return { ok: false, problem: `"${input}" is not a valid internationalised hostname (IDNA)` };
  if (ascii.length > 253) return { ok: false, problem: `"${input}" is longer than 253 characters` };
  const labels = ascii.split(".");
  if (labels.length < 2) return { ok: false, problem: `"${input}" needs at least two labels (name.tld)` };
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return { ok: false, problem: `"${input}": label "${label}" must be 1–63 letters, digits or inner hyphens (RFC 1123)` };
    }
  }
  if (/^[0-9]+$/.test(labels.at(-1)!)) return { ok: false, problem: `"${input}" looks like an IP address, not a hostname` };
  return { ok: true, name: (isWild ? "*." : "") + ascii, wildcard: isWild, base: ascii };
}

/** Whether `pattern` (exact or "*.x") matches every name `other` matches (`other` ≠ `pattern`). */
export function covers(pattern: string, other: string): boolean {
  if (!pattern.startsWith("*.")) return false;
  const suffix = pattern.slice(1); // ".x"
  // "*.a.x" stands for names below a.x: test it as one of them.
  const probe = other.startsWith("*.") ? `w${other.slice(1)}` : other;
  return probe.endsWith(suffix) && probe.length > suffix.length && other !== pattern;
}

/** Whether a name (exact or wildcard) lies inside a zone's apex. */
export function insideZone(name: string, zone: string): boolean {
  const base = name.startsWith("*.") ? name.slice(2) : name;
  return base === zone || base.endsWith(`.${zone}`);
}
