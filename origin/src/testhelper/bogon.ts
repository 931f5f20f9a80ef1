import { BlockList, isIP } from "node:net";

// Ranges as oohelperd/netxlite list them (from ipinfo.io/bogon). v4 and v6 live in separate lists
// because a BlockList would also match IPv4 addresses against the ::ffff:0:0/96 rule.
const BOGONS_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
  ["255.255.255.255", 32],
];

const BOGONS_V6: ReadonlyArray<readonly [string, number]> = [
  ["::", 128],
  ["::1", 128],
  ["::ffff:0:0", 96],
  ["::", 96],
  ["100::", 64],
  ["2001:10::", 28],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
  // 6to4 and Teredo encodings of the IPv4 bogons.
  ["2002::", 24],
  ["2002:a00::", 24],
  ["2002:7f00::", 24],
  ["2002:a9fe::", 32],
  ["2002:ac10::", 28],
  ["2002:c000::", 40],
  ["2002:c000:200::", 40],
  ["2002:c0a8::", 32],
  ["2002:c612::", 31],
  ["2002:c633:6400::", 40],
  ["2002:cb00:7100::", 40],
  ["2002:e000::", 20],
  ["2002:f000::", 20],
  ["2002:ffff:ffff::", 48],
  ["2001::", 40],
  ["2001:0:a00::", 40],
  ["2001:0:7f00::", 40],
  ["2001:0:a9fe::", 48],
  ["2001:0:ac10::", 44],
  ["2001:0:c000::", 56],
  ["2001:0:c000:200::", 56],
  ["2001:0:c0a8::", 48],
  ["2001:0:c612::", 47],
  ["2001:0:c633:6400::", 56],
  ["2001:0:cb00:7100::", 56],
  ["2001:0:e000::", 36],
  ["2001:0:f000::", 36],
  ["2001:0:ffff:ffff::", 64],
];

const v4 = new BlockList();
for (const [net, prefix] of BOGONS_V4) v4.addSubnet(net, prefix, "ipv4");
const v6 = new BlockList();
for (const [net, prefix] of BOGONS_V6) v6.addSubnet(net, prefix, "ipv6");

/** A usable IP literal: IPv4 or IPv6 without a zone (`fe80::1%eth0` is not an address we connect to). */
export function ipFamily(address: string): 0 | 4 | 6 {
  if (address.includes("%")) return 0;
  return isIP(address) as 0 | 4 | 6;
}

/** Like netxlite.IsBogon: anything that is not an IP literal counts as a bogon. */
export function isBogon(address: string): boolean {
  const family = ipFamily(address);
  if (family === 4) return v4.check(address, "ipv4");
  if (family === 6) return v6.check(address, "ipv6");
  return true;
}

const loopback4 = new BlockList();
loopback4.addSubnet("127.0.0.0", 8, "ipv4");
const loopback6 = new BlockList();
loopback6.addAddress("::1", "ipv6");
loopback6.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

export function isLoopback(address: string): boolean {
  const family = ipFamily(address);
  if (family === 4) return loopback4.check(address, "ipv4");
  if (family === 6) return loopback6.check(address, "ipv6");
  return false;
}

/**
 * Which addresses the helper refuses to touch. Production never connects to bogons (a probe must not
 * be able to make the helper scan the helper's own network). `allowLoopback` exempts 127.0.0.0/8 and ::1
 * from the refusal — and only from the refusal: ip_info still flags them as bogons — so that tests can
 * measure servers on loopback. It must stay false in production.
 */
export interface BogonPolicy {
  allowLoopback: boolean;
}

export function mayConnect(address: string, policy: BogonPolicy): boolean {
  if (!isBogon(address)) return true;
  return policy.allowLoopback && isLoopback(address);
}
