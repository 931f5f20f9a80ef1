// The client key for sticky balancing: the address Cloudflare reports (CF-Connecting-IP) reduced to
// its network — /24 for IPv4 and /48 for IPv6 by default — so that probes behind carrier NAT or
// with rotating IPv6 privacy addresses keep their helper. The network is hashed into two uint32
// words written to `out`; nothing is allocated per request.
import { finalMix, mixRound } from "./mix";

// Scratch space: an isolate runs one request handler at a time between awaits, and none is awaited here.
const groups = new Uint16Array(8);
const words = new Uint32Array(4);

const KEY_SEED_A = 0x2f1a6b3d;
const KEY_SEED_B = 0x7c4e19a5;

/** Dotted quad in s[start, end) → uint32, or -1. */
function parseIPv4(s: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (i < end) {
    let octet = 0;
    let digits = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || octet > 255) return -1;
    value = value * 256 + octet;
    octets++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 46 || octets === 4) return -1;
    i++;
    if (i === end) return -1;
  }
  return octets === 4 ? value : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Fills `groups`; returns false for anything that is not an IPv6 address. */
function parseIPv6(s: string): boolean {
  const end = s.length;
  let head = 0; // groups written before "::"
  let gap = -1; // index in groups where "::" stands
  let i = 0;
  if (end < 2) return false;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) {
      groups.fill(0);
      return true;
    }
  }
  while (i < end) {
    if (head >= 8) return false;
    // An embedded IPv4 tail ("::ffff:192.0.2.1") takes two groups.
    let j = i;
    let sawDot = false;
    while (j < end && s.charCodeAt(j) !== 58) {
      if (s.charCodeAt(j) === 46) sawDot = true;
      j++;
    }
    if (sawDot) {
      if (j !== end || head > 6) return false;
      const v4 = parseIPv4(s, i, end);
      if (v4 < 0) return false;
      groups[head++] = v4 >>> 16;
      groups[head++] = v4 & 0xffff;
      i = end;
      break;
    }
    const len = j - i;
    if (len === 0 || len > 4) return false;
    let g = 0;
    for (let k = i; k < j; k++) {
      const h = hexValue(s.charCodeAt(k));
      if (h < 0) return false;
      g = (g << 4) | h;
    }
    groups[head++] = g;
    i = j;
    if (i === end) break;
    i++; // the ':'
    if (i === end) return false; // trailing single ':'
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false; // a second "::"
      gap = head;
      i++;
      if (i === end) break;
    }
  }
  if (gap < 0) return head === 8;
  if (head >= 8) return false;
  // Move the groups after "::" to the end and zero the gap.
  const tail = head - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[head - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

function prefixMask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

function hashWords(family: number, prefix: number, out: Uint32Array): void {
  let a = KEY_SEED_A;
  let b = KEY_SEED_B;
  for (let i = 0; i < 4; i++) {
    a = mixRound(a, words[i]!);
    b = mixRound(b, words[i]!);
  }
  a = mixRound(a, (family << 8) | prefix);
  b = mixRound(b, (family << 8) | prefix);
  out[0] = finalMix(a);
  out[1] = finalMix(b ^ out[0]!);
}

/**
 * Writes the key of `ip`'s network into out[0], out[1]. IPv4-mapped IPv6 counts as IPv4. A missing
 * or unparsable address (never the case behind Cloudflare) gets one fixed key.
 */
export function clientKey(ip: string | null, v4Prefix: number, v6Prefix: number, out: Uint32Array): void {
  words.fill(0);
  if (ip === null) return hashWords(0, 0, out);
  const v4 = parseIPv4(ip, 0, ip.length);
  if (v4 >= 0) {
    words[0] = (v4 & prefixMask(v4Prefix)) >>> 0;
    return hashWords(4, v4Prefix, out);
  }
  if (!parseIPv6(ip)) return hashWords(0, 0, out);
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    words[0] = (((groups[6]! << 16) | groups[7]!) & prefixMask(v4Prefix)) >>> 0;
    return hashWords(4, v4Prefix, out);
  }
  for (let w = 0; w < 4; w++) {
    const bits = v6Prefix - w * 32;
    words[w] = (((groups[2 * w]! << 16) | groups[2 * w + 1]!) & prefixMask(bits)) >>> 0;
  }
  return hashWords(6, v6Prefix, out);
}

/** The network a key stands for, as text ("203.0.113.0/24"), for the status page and tests. */
export function clientNetwork(ip: string, v4Prefix: number, v6Prefix: number): string | null {
  const v4 = parseIPv4(ip, 0, ip.length);
  if (v4 >= 0) return `${ipv4Text((v4 & prefixMask(v4Prefix)) >>> 0)}/${v4Prefix}`;
  if (!parseIPv6(ip)) return null;
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `${ipv4Text((((groups[6]! << 16) | groups[7]!) & prefixMask(v4Prefix)) >>> 0)}/${v4Prefix}`;
  }
  const parts: string[] = [];
  for (let g = 0; g < 8; g++) {
    const bits = Math.max(0, Math.min(16, v6Prefix - g * 16));
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    parts.push((groups[g]! & mask).toString(16));
  }
  return `${parts.join(":")}/${v6Prefix}`;
}

function ipv4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
