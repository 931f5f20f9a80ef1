import { isIP } from "node:net";

// Quotas are kept per client *network*, not per address: one person easily holds a whole IPv4 /24
// or IPv6 /48 (the usual end-site assignment), and per-address keys would let them multiply their
// budget. This runs on every metered request, so addresses are parsed by hand into a reused scratch
// array instead of split()/map() chains; the only allocation is the key string itself.

const v6 = new Uint16Array(8); // scratch: the address being looked at (single-threaded, never escapes)

/** Parses dotted IPv4 into an unsigned 32-bit number, or -1. */
function parseV4(s: string, start = 0): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Parses IPv6 (an optional %zone is ignored) into `out`; false when it is not one. */
function parseV6(s: string, out: Uint16Array): boolean {
  let end = s.indexOf("%");
  if (end < 0) end = s.length;
  out.fill(0);
  let n = 0; // groups written
  let gap = -1; // index in out where "::" sits
  let i = 0;
  if (s.charCodeAt(0) === 0x3a && s.charCodeAt(1) === 0x3a) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    // An embedded dotted IPv4 tail (::ffff:1.2.3.4) fills the last two groups.
    let j = i;
    let hex = 0;
    let digits = 0;
    let sawDot = false;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === 0x3a) break;
      if (c === 0x2e) sawDot = true;
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0 && c !== 0x2e) return false;
      if (!sawDot) hex = hex * 16 + d;
      digits++;
      j++;
    }
    if (sawDot) {
      const v4 = parseV4(s.slice(i, j));
      if (v4 < 0 || n > 6 || j !== end) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
    } else {
      if (digits === 0 || digits > 4 || n > 7) return false;
      out[n++] = hex;
    }
    i = j;
    if (i < end) {
      i++; // the ':'
      if (s.charCodeAt(i) === 0x3a) {
        if (gap >= 0) return false;
        gap = n;
        i++;
      } else if (i === end) {
        return false;
      }
    }
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  // Move the groups written after "::" to the end.
  const tail = n - gap;
  for (let k = 0; k < tail; k++) {
    out[7 - k] = out[n - 1 - k]!;
    out[n - 1 - k] = 0;
  }
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

function maskV4(v: number, prefix: number): number {
  return prefix === 0 ? 0 : (v & (~0 << (32 - prefix))) >>> 0;
}

function maskV6(g: Uint16Array, prefix: number): void {
  for (let k = 0; k < 8; k++) {
    const keep = Math.min(16, Math.max(0, prefix - k * 16));
    g[k] = keep === 0 ? 0 : keep === 16 ? g[k]! : g[k]! & ((0xffff << (16 - keep)) & 0xffff);
  }
}

function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function formatV6Network(g: Uint16Array, prefix: number): string {
  const n = Math.ceil(prefix / 16);
  let s = "";
  for (let k = 0; k < n; k++) s += (k ? ":" : "") + g[k]!.toString(16);
  return n < 8 ? `${s}::/${prefix}` : `${s}/${prefix}`;
}

export interface Cidr {
  family: 4 | 6;
  v4: number; // network, when family 4
  v6: Uint16Array; // network, when family 6
  prefix: number;
}

/** "203.0.113.0/24", "2001:db8::/32" or a bare address (a /32 or /128). Null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(addr);
  if (family !== 4 && family !== 6) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d{1,3}$/.test(text.slice(slash + 1)))) return null;
  if (family === 4) return { family, v4: maskV4(parseV4(addr), prefix), v6: new Uint16Array(8), prefix };
  const g = new Uint16Array(8);
  if (!parseV6(addr, g)) return null;
  maskV6(g, prefix);
  return { family, v4: 0, v6: g, prefix };
}

function v6InCidr(g: Uint16Array, c: Cidr): boolean {
  for (let k = 0; k < 8; k++) {
    const keep = Math.min(16, Math.max(0, c.prefix - k * 16));
    if (keep === 0) return true;
    const mask = (0xffff << (16 - keep)) & 0xffff;
    if ((g[k]! & mask) !== c.v6[k]) return false;
  }
  return true;
}

export interface NetworkPolicyOptions {
  ipv4Prefix: number;
  ipv6Prefix: number;
  allowlist: Cidr[];
}

/**
 * Maps a client address (already validated by the client-IP middleware) to its quota key, e.g.
 * "n:203.0.113.0/24", or null when the address is allowlisted.
 */
export class NetworkPolicy {
  readonly #v4Allow: Cidr[];
  readonly #v6Allow: Cidr[];

  constructor(private readonly opts: NetworkPolicyOptions) {
    this.#v4Allow = opts.allowlist.filter((c) => c.family === 4);
    this.#v6Allow = opts.allowlist.filter((c) => c.family === 6);
  }

  keyFor(ip: string): string | null {
    const v4 = parseV4(ip);
    if (v4 >= 0) {
      for (const c of this.#v4Allow) if (maskV4(v4, c.prefix) === c.v4) return null;
      return `n:${formatV4(maskV4(v4, this.opts.ipv4Prefix))}/${this.opts.ipv4Prefix}`;
    }
    if (parseV6(ip, v6)) {
      // ::ffff:a.b.c.d spelled in hex is still an IPv4 client.
      if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
        return this.keyFor(formatV4(((v6[6]! << 16) | v6[7]!) >>> 0));
      }
      for (const c of this.#v6Allow) if (v6InCidr(v6, c)) return null;
      maskV6(v6, this.opts.ipv6Prefix);
      return `n:${formatV6Network(v6, this.opts.ipv6Prefix)}`;
    }
    // Not an address (cannot happen behind clientIpMiddleware): one shared bucket, never a free pass.
    return "n:unknown";
  }
}
