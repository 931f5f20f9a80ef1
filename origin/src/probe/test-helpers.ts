import { isIP } from "node:net";
import { z } from "zod";
import { LEGACY_HELPER_KINDS, type BridgeLegacyHelpers } from "#shared/edge-protocol";
import type { ServiceEntry, ServicesFile } from "./config-files";

// Test-helper and collector lists as served to one client (backend-reference §9).
// - `{bridge}` in an address becomes the bridge the request came through (scheme + hostname), so
//   a probe that reached us through a name that works is told to use that same name; requests that
//   did not come through the edge get no such entry.
// - `{base_url}` becomes BASE_URL (entry dropped when unset).
// - `{bridge_legacy}` (under "tcp-echo" / "http-return-json-headers") becomes one entry per legacy
//   helper of the bridge the request came through (bridge-config `[legacy_helpers]`); none otherwise.
// - Entries marked `rotate` form a group served in a per-client rotation: the first one is the
//   canary that comes first for ~10% of clients (q = IP as integer mod 100 < 10); everyone else
//   starts at one of the others (q mod (n-1) + 1). The same client always gets the same order.

export interface PublicService {
  address: string;
  type: string;
  front?: string;
}

export interface RequestSite {
  clientIp: string;
  /** e.g. "https://name.example", only for requests that came through the edge. */
  bridgeOrigin: string | null;
  baseUrl: string | null;
  /** The bridge's legacy helpers (only for requests that came through the edge). */
  bridgeLegacy?: BridgeLegacyHelpers | null;
}

function ipBucket(ip: string): number {
  const v = isIP(ip);
  if (v === 4) return ip.split(".").reduce((acc, o) => (acc * 256 + Number(o)) % 100, 0);
  if (v === 6) {
    try {
      // Expand "::" and embedded IPv4, then reduce the 128-bit integer mod 100.
      const url = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
      const [head = "", tail = ""] = url.split("::");
      const h = head ? head.split(":") : [];
      const t = tail ? tail.split(":") : [];
      const groups = url.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
      return Number(groups.reduce((acc, g) => (acc * 65536n + BigInt(`0x${g || "0"}`)) % 100n, 0n));
    } catch {
      return 12;
    }
  }
  return 12; // unknown address: not the canary
}

function expandLegacy(entry: ServiceEntry, site: RequestSite, kind: string | undefined): PublicService[] {
  const list = kind ? site.bridgeLegacy?.[kind as keyof BridgeLegacyHelpers] : undefined;
  return (list ?? []).map((address) => ({ address, type: entry.type }));
}

function expand(entry: ServiceEntry, site: RequestSite): PublicService | null {
  let address = entry.address;
  if (address.includes("{bridge}")) {
    if (!site.bridgeOrigin) return null;
    address = address.replace("{bridge}", site.bridgeOrigin);
  }
  if (address.includes("{base_url}")) {
    if (!site.baseUrl) return null;
    address = address.replace("{base_url}", site.baseUrl.replace(/\/+$/, ""));
  }
  return entry.front ? { address, type: entry.type, front: entry.front } : { address, type: entry.type };
}

export function servicesFor(entries: readonly ServiceEntry[], site: RequestSite, kind?: string): PublicService[] {
  const group = entries.filter((e) => e.rotate);
  let rotated = group;
  if (group.length > 1) {
    const q = ipBucket(site.clientIp);
    const shift = q < 10 ? 0 : (q % (group.length - 1)) + 1;
    rotated = group.map((_, i) => group[(i + shift) % group.length]!);
  }
  const out: PublicService[] = [];
  let groupDone = false;
  for (const e of entries) {
    if (e.rotate) {
      if (groupDone) continue;
      groupDone = true;
      for (const r of rotated) {
        const s = expand(r, site);
        if (s) out.push(s);
      }
      continue;
    }
    if (e.address === BRIDGE_LEGACY) {
      out.push(...expandLegacy(e, site, kind));
      continue;
    }
    const s = expand(e, site);
    if (s) out.push(s);
  }
  return out;
}

export function testHelpersFor(file: ServicesFile, site: RequestSite): Record<string, PublicService[]> {
  return Object.fromEntries(Object.entries(file.test_helpers).map(([name, entries]) => [name, servicesFor(entries, site, name)]));
}

const BRIDGE_LEGACY = "{bridge_legacy}";

// What the edge sends in BRIDGE_LEGACY_HELPERS_HEADER; the edge validated it, but this is still input.
const legacyAddress = z.string().min(1).max(300).regex(/^[\x21-\x7e]+$/);
const BridgeLegacyHeader = z.partialRecord(z.enum(LEGACY_HELPER_KINDS), z.array(legacyAddress).max(16));

/** The bridge's legacy helpers from the edge's header; null unless the edge proved itself and the value is well-formed. */
export function bridgeLegacyOf(viaEdge: boolean, header: string | undefined): BridgeLegacyHelpers | null {
  if (!viaEdge || !header || header.length > 8192) return null;
  try {
    const parsed = BridgeLegacyHeader.safeParse(JSON.parse(header));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The bridge origin from the edge's headers; null unless the edge proved itself and the name is sane. */
export function bridgeOriginOf(viaEdge: boolean, host: string | undefined, proto: string | undefined): string | null {
  if (!viaEdge || !host) return null;
  const h = host.trim().toLowerCase();
  if (h.length > 255 || !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:[0-9]{1,5})?$/.test(h)) return null;
  const scheme = proto?.trim().toLowerCase() === "http" ? "http" : "https";
  return `${scheme}://${h}`;
}
