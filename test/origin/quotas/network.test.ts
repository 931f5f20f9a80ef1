import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NetworkPolicy, parseCidr } from "../../../origin/src/quotas/network";
import { PathMatcher } from "../../../origin/src/quotas/paths";

// Quota keys are client networks. The hand-written parser is checked against a BigInt reference
// on random addresses in every spelling Node's formatter produces.

const policy = (o: Partial<{ v4: number; v6: number; allow: string[] }> = {}) =>
  new NetworkPolicy({
    ipv4Prefix: o.v4 ?? 24,
    ipv6Prefix: o.v6 ?? 48,
    allowlist: (o.allow ?? []).map((c) => parseCidr(c)!),
  });

function v6ToBigInt(groups: number[]): bigint {
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Reference: mask the 128-bit value and print the first ceil(prefix/16) groups. */
function refV6Key(groups: number[], prefix: number): string {
  const masked = v6ToBigInt(groups) & (((1n << BigInt(prefix)) - 1n) << BigInt(128 - prefix));
  const out: string[] = [];
  for (let k = 0; k < Math.ceil(prefix / 16); k++) out.push(((masked >> BigInt(112 - 16 * k)) & 0xffffn).toString(16));
  return `n:${out.join(":")}${out.length < 8 ? "::" : ""}/${prefix}`;
}

/** Node's canonical compressed form (via URL), so the parser sees "::" in all positions. */
function compress(groups: number[]): string {
  return new URL(`http://[${groups.map((g) => g.toString(16)).join(":")}]/`).hostname.slice(1, -1);
}

describe("NetworkPolicy.keyFor", () => {
  it("groups IPv4 by /24 and IPv6 by /48", () => {
    const p = policy();
    expect(p.keyFor("203.0.113.7")).toBe("n:203.0.113.0/24");
    expect(p.keyFor("203.0.113.250")).toBe("n:203.0.113.0/24");
    expect(p.keyFor("203.0.114.7")).toBe("n:203.0.114.0/24");
    expect(p.keyFor("2001:db8:1:2::1")).toBe("n:2001:db8:1::/48");
    expect(p.keyFor("2001:db8:1:ffff:1:2:3:4")).toBe("n:2001:db8:1::/48");
    expect(p.keyFor("2001:db8:2::1")).toBe("n:2001:db8:2::/48");
    expect(p.keyFor("::1")).toBe("n:0:0:0::/48");
    expect(p.keyFor("fe80::1%eth0")).toBe("n:fe80:0:0::/48");
  });

  it("treats IPv4-mapped IPv6 in any spelling as the IPv4 client", () => {
    const p = policy();
    expect(p.keyFor("::ffff:198.51.100.9")).toBe("n:198.51.100.0/24");
    expect(p.keyFor("::ffff:c633:6409")).toBe("n:198.51.100.0/24");
  });

  it("honours configured prefixes", () => {
    const p = policy({ v4: 16, v6: 64 });
    expect(p.keyFor("10.1.2.3")).toBe("n:10.1.0.0/16");
    expect(p.keyFor("2001:db8:aaaa:bbbb:1::")).toBe("n:2001:db8:aaaa:bbbb::/64");
    expect(policy({ v4: 32, v6: 128 }).keyFor("2001:db8::7")).toBe("n:2001:db8:0:0:0:0:0:7/128");
  });

  it("returns null for allowlisted networks and addresses", () => {
    const p = policy({ allow: ["192.0.2.0/24", "198.51.100.7", "2001:db8:ab00::/40"] });
    expect(p.keyFor("192.0.2.99")).toBeNull();
    expect(p.keyFor("198.51.100.7")).toBeNull();
    expect(p.keyFor("198.51.100.8")).toBe("n:198.51.100.0/24");
    expect(p.keyFor("2001:db8:abcd::1")).toBeNull();
    expect(p.keyFor("2001:db8:ac00::1")).toBe("n:2001:db8:ac00::/48");
  });

  it("never gives a free pass to something that is not an address", () => {
    expect(policy().keyFor("not-an-ip")).toBe("n:unknown");
    expect(policy().keyFor("1.2.3")).toBe("n:unknown");
  });

  it("matches a BigInt reference on random IPv4 addresses and prefixes", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 32 }), (ip, prefix) => {
        const v = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
        const masked = Number((BigInt(v) >> BigInt(32 - prefix)) << BigInt(32 - prefix));
        const dotted = [24, 16, 8, 0].map((s) => (masked >>> s) & 255).join(".");
        expect(policy({ v4: prefix }).keyFor(ip)).toBe(`n:${dotted}/${prefix}`);
      }),
      { numRuns: 2000 },
    );
  });

  it("matches a BigInt reference on random IPv6 addresses (full and compressed) and prefixes", () => {
    const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(groups, fc.integer({ min: 1, max: 128 }), (g, prefix) => {
        if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return; // IPv4-mapped: tested above
        const want = refV6Key(g, prefix);
        const p = policy({ v6: prefix });
        expect(p.keyFor(g.map((x) => x.toString(16)).join(":"))).toBe(want);
        expect(p.keyFor(compress(g))).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("parseCidr", () => {
  it("accepts networks and bare addresses, rejects the rest", () => {
    for (const ok of ["10.0.0.0/8", "10.0.0.1", "::/0", "2001:db8::/32", "::1"]) expect(parseCidr(ok), ok).not.toBeNull();
    for (const bad of ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "2001:db8::/129", "example.org", "", "10.0.0.0/8/8"]) {
      expect(parseCidr(bad), bad).toBeNull();
    }
  });
});

describe("PathMatcher", () => {
  it("matches exact paths and * prefixes only", () => {
    const m = new PathMatcher(["/health", "/report*"]);
    expect(m.matches("/health")).toBe(true);
    expect(m.matches("/health/x")).toBe(false);
    expect(m.matches("/report")).toBe(true);
    expect(m.matches("/report/abc/close")).toBe(true);
    expect(m.matches("/api/v1/measurements")).toBe(false);
  });
});
