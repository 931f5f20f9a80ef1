import { BlockList, isIP } from "node:net";

// Addresses that are never routable on the public internet (ipinfo.io/bogon and CAIDA's bogon
// list, as upstream's pipeline uses them): an answer in these ranges is a strong DNS-tampering
// signal unless the control returned it too.

const V4 = [
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
  "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
];

const V6 = [
  "::/128", "::1/128", "::ffff:0:0/96", "::/96", "64:ff9b:1::/48", "100::/64", "2001:10::/28", "2001:db8::/32",
  "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
  // 6to4 and Teredo encodings of the IPv4 bogons
  "2002::/24", "2002:a00::/24", "2002:7f00::/24", "2002:a9fe::/32", "2002:ac10::/28", "2002:c000::/40",
  "2002:c000:200::/40", "2002:c0a8::/32", "2002:c612::/31", "2002:c633:6400::/40", "2002:cb00:7100::/40",
  "2002:e000::/20", "2002:f000::/20", "2002:ffff:ffff::/48",
  "2001::/40", "2001:0:a00::/40", "2001:0:7f00::/40", "2001:0:a9fe::/48", "2001:0:ac10::/44", "2001:0:c000::/56",
  "2001:0:c000:200::/56", "2001:0:c0a8::/48", "2001:0:c612::/47", "2001:0:c633:6400::/56", "2001:0:cb00:7100::/56",
  "2001:0:e000::/36", "2001:0:f000::/36", "2001:0:ffff:ffff::/64",
];

const v4 = new BlockList();
for (const n of V4) {
  const [addr, len] = n.split("/");
  v4.addSubnet(addr!, Number(len), "ipv4");
}
const v6 = new BlockList();
for (const n of V6) {
  const [addr, len] = n.split("/");
  v6.addSubnet(addr!, Number(len), "ipv6");
}

/** Not an IP address at all is not a bogon either. */
export function isIpBogon(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return v4.check(ip, "ipv4");
  // BlockList maps IPv4-mapped IPv6 onto the IPv4 list; Python keeps them IPv6 (::ffff:0:0/96 is a bogon).
  if (family === 6) return /^::ffff:/i.test(ip) || v6.check(ip, "ipv6");
  return false;
}
