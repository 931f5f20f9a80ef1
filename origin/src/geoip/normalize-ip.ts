import { isIP } from "node:net";

// Addresses arrive from headers and socket info in many spellings ("[::1]", "fe80::1%eth0",
// "::ffff:203.0.113.7"); GeoIP and anything that stores a probe address want one canonical form.
// Only the rare spellings allocate: a plain address is returned as the same string.

const MAX_IP_TEXT = 64; // longest legitimate form plus a zone id; bounds work on hostile input

export function normalizeIp(raw: string): string | null {
  if (typeof raw !== "string") return null;
  let ip = raw.trim();
  if (ip.length === 0 || ip.length > MAX_IP_TEXT) return null;
  if (ip.charCodeAt(0) === 0x5b /* [ */) {
    // Only a fully bracketed address; "[::1]:80" carries a port and is not an address.
    if (ip.charCodeAt(ip.length - 1) !== 0x5d /* ] */) return null;
    ip = ip.slice(1, -1);
  }
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return null;
  const pct = ip.indexOf("%");
  if (pct !== -1) ip = ip.slice(0, pct); // zone ids name a local interface, not a network
  if (hasUpper(ip)) ip = ip.toLowerCase();
  return ip.includes("ffff") ? (unmapV4(ip) ?? ip) : ip;
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x46) return true;
  }
  return false;
}

// ::ffff:a.b.c.d (in any spelling, dotted or hex) is an IPv4 client seen through a dual-stack
// socket: it must resolve, and be stored, as the IPv4 address.
function unmapV4(ip: string): string | null {
  const g = ipv6Groups(ip);
  if (g === null) return null;
  for (let i = 0; i < 5; i++) if (g[i] !== 0) return null;
  if (g[5] !== 0xffff) return null;
  const hi = g[6] ?? 0;
  const lo = g[7] ?? 0;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

// Expands an address already validated by isIP (zone stripped) into its eight 16-bit groups.
function ipv6Groups(ip: string): number[] | null {
  const halves = ip.split("::");
  if (halves.length > 2) return null;
  const head = splitGroups(halves[0] ?? "");
  const tail = halves.length === 2 ? splitGroups(halves[1] ?? "") : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function splitGroups(part: string): number[] | null {
  if (part === "") return [];
  const out: number[] = [];
  for (const piece of part.split(":")) {
    if (piece.includes(".")) {
      if (isIP(piece) !== 4) return null;
      const [a = 0, b = 0, c = 0, d = 0] = piece.split(".").map(Number);
      out.push((a << 8) | b, (c << 8) | d);
    } else {
      const n = Number.parseInt(piece, 16);
      if (!Number.isInteger(n)) return null;
      out.push(n);
    }
  }
  return out;
}
