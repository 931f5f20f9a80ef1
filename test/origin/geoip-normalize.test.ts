import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeIp } from "../../origin/src/geoip/normalize-ip";
import { asNameOf, asnOf, countryCodeOf, formatAsn } from "../../origin/src/geoip/records";
import type { AsnResponse, CountryResponse } from "maxmind";

describe("normalizeIp", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["  203.0.113.7\t", "203.0.113.7"],
    ["[203.0.113.7]", "203.0.113.7"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:DB8::A", "2001:db8::a"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["[fe80::1%25en0]", "fe80::1"],
    ["::1", "::1"],
    ["::", "::"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::FFFF:203.0.113.7", "203.0.113.7"],
    ["0:0:0:0:0:ffff:203.0.113.7", "203.0.113.7"],
    ["::ffff:cb00:7107", "203.0.113.7"],
    ["::0:ffff:cb00:7107", "203.0.113.7"],
    // Not IPv4-mapped: left as IPv6.
    ["::ffff:0:cb00:7107", "::ffff:0:cb00:7107"],
    ["ffff::1", "ffff::1"],
    ["2001:db8::ffff:1", "2001:db8::ffff:1"],
    ["::203.0.113.7", "::203.0.113.7"],
  ])("%j → %j", (input, out) => {
    expect(normalizeIp(input)).toBe(out);
  });

  it.each(["", " ", "not-an-ip", "999.1.1.1", "1.2.3.4:80", "[::1]:80", "[::1", "::1]", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4%eth0", "::ffff:1.2.3.256", "2001:db8::1::2", "g::1", "localhost", "x".repeat(100)])(
    "%j → null",
    (input) => {
      expect(normalizeIp(input)).toBeNull();
    },
  );

  it("returns plain IPv4 unchanged and maps every ::ffff:a.b.c.d back to it", () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        expect(normalizeIp(v4)).toBe(v4);
        expect(normalizeIp(`::ffff:${v4}`)).toBe(v4);
        const [a = 0, b = 0, c = 0, d = 0] = v4.split(".").map(Number);
        const hex = `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        expect(normalizeIp(hex)).toBe(v4);
      }),
    );
  });

  it("accepts every IPv6 address idempotently and never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.ipV6(), (v6) => {
        const n = normalizeIp(v6);
        expect(n).not.toBeNull();
        expect(normalizeIp(n ?? "")).toBe(n); // idempotent
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        normalizeIp(s);
      }),
    );
  });
});

describe("record readers", () => {
  const country = (r: object): string => countryCodeOf(r as CountryResponse);
  const asn = (r: object): AsnResponse => r as AsnResponse;

  it("reads DB-IP / GeoLite2 country records, falling back to registered_country", () => {
    expect(country({ country: { iso_code: "IT", names: { en: "Italy" } } })).toBe("IT");
    expect(country({ registered_country: { iso_code: "DE" } })).toBe("DE");
    expect(country({ country: { names: { en: "?" } }, registered_country: { iso_code: "NL" } })).toBe("NL");
    expect(country({ country: { iso_code: "it" } })).toBe("IT");
    expect(countryCodeOf(null)).toBe("ZZ");
    expect(country({})).toBe("ZZ");
    expect(country({ country: { iso_code: "ITA" } })).toBe("ZZ");
    expect(country({ country: { iso_code: "1T" } })).toBe("ZZ");
    expect(country({ country: { iso_code: 42 } })).toBe("ZZ");
  });

  it("reads ASN records defensively", () => {
    const rec = asn({ autonomous_system_number: 30722, autonomous_system_organization: "Vodafone Italia S.p.A." });
    expect(asnOf(rec)).toBe(30722);
    expect(asNameOf(rec)).toBe("Vodafone Italia S.p.A.");
    expect(asnOf(null)).toBe(0);
    expect(asNameOf(null)).toBeNull();
    expect(asnOf(asn({ autonomous_system_number: "30722" }))).toBe(0);
    expect(asnOf(asn({ autonomous_system_number: -5 }))).toBe(0);
    expect(asNameOf(asn({ autonomous_system_organization: "" }))).toBeNull();
  });

  it("formats ASNs", () => {
    expect(formatAsn(3320)).toBe("AS3320");
    expect(formatAsn(0)).toBe("AS0");
    expect(formatAsn(Number.NaN)).toBe("AS0");
  });
});
