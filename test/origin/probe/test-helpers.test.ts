import { describe, expect, it } from "vitest";
import type { ServicesFile } from "../../../origin/src/probe/config-files";
import { bridgeOriginOf, servicesFor, testHelpersFor } from "../../../origin/src/probe/test-helpers";

const th = (n: number) => ({ address: `https://${n}.th.example.org`, type: "https", rotate: true });
const file: ServicesFile = {
  test_helpers: {
    "web-connectivity": [
      { address: "{bridge}", type: "https" },
      th(0),
      th(1),
      th(2),
      th(3),
      { address: "https://d.cloudfront.net", type: "cloudfront", front: "d.cloudfront.net" },
    ],
    dns: [],
  },
  collectors: [
    { address: "{bridge}", type: "https" },
    { address: "{base_url}", type: "https" },
  ],
  features: {},
};

describe("test-helper lists", () => {
  it("puts the bridge first, rotates the group per client and keeps the rest in order", () => {
    const list = testHelpersFor(file, { clientIp: "198.51.100.7", bridgeOrigin: "https://b.example", baseUrl: null })["web-connectivity"]!;
    expect(list[0]).toEqual({ address: "https://b.example", type: "https" });
    expect(list.at(-1)).toEqual({ address: "https://d.cloudfront.net", type: "cloudfront", front: "d.cloudfront.net" });
    expect(list.slice(1, 5).map((s) => s.address).sort()).toEqual([0, 1, 2, 3].map((n) => `https://${n}.th.example.org`));
    expect(list.some((s) => "rotate" in s)).toBe(false);
  });

  it("gives the canary (first of the group) the first place to about 10% of clients, the same order to the same client", () => {
    let canaryFirst = 0;
    const firsts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const list = servicesFor(file.test_helpers["web-connectivity"]!, { clientIp: ip, bridgeOrigin: null, baseUrl: null });
      expect(servicesFor(file.test_helpers["web-connectivity"]!, { clientIp: ip, bridgeOrigin: null, baseUrl: null })).toEqual(list);
      firsts.set(list[0]!.address, (firsts.get(list[0]!.address) ?? 0) + 1);
      if (list[0]!.address === "https://0.th.example.org") canaryFirst++;
    }
    expect(canaryFirst / 10_000).toBeCloseTo(0.1, 1);
    for (const n of [1, 2, 3]) expect(firsts.get(`https://${n}.th.example.org`)! / 10_000).toBeCloseTo(0.3, 1);
    // IPv6 clients rotate too.
    const v6 = new Set(
      Array.from({ length: 200 }, (_, i) =>
        servicesFor(file.test_helpers["web-connectivity"]!, { clientIp: `2001:db8::${i.toString(16)}`, bridgeOrigin: null, baseUrl: null })[0]!.address,
      ),
    );
    expect(v6.size).toBe(4);
  });

  it("drops placeholders that cannot be filled", () => {
    const direct = testHelpersFor(file, { clientIp: "127.0.0.1", bridgeOrigin: null, baseUrl: null })["web-connectivity"]!;
    expect(direct).toHaveLength(5);
    expect(direct.some((s) => s.address.includes("{"))).toBe(false);
    expect(servicesFor(file.collectors, { clientIp: "127.0.0.1", bridgeOrigin: null, baseUrl: "https://api.example.org/" })).toEqual([
      { address: "https://api.example.org", type: "https" },
    ]);
  });

  it("trusts the bridge host only from the edge, and only when it is a plain host name", () => {
    expect(bridgeOriginOf(true, "Any-Name.Example", "https")).toBe("https://any-name.example");
    expect(bridgeOriginOf(true, "127.0.0.1:8787", "http")).toBe("http://127.0.0.1:8787");
    expect(bridgeOriginOf(false, "any-name.example", "https")).toBeNull();
    for (const bad of ["evil.example/path", "a b", "x.example@y", "", "x.example#", "[::1", "a".repeat(300)]) {
      expect(bridgeOriginOf(true, bad, "https")).toBeNull();
    }
    expect(bridgeOriginOf(true, "x.example", "javascript")).toBe("https://x.example");
  });
});
