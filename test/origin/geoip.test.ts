import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GeoIP, formatAsn } from "../../origin/src/geoip/geoip";
import type { GeoInfo } from "../../origin/src/geoip/geoip";

const FIXTURES = resolve(import.meta.dirname, "../../origin/fixtures/geoip");
const COUNTRY = join(FIXTURES, "country.mmdb");
const ASN = join(FIXTURES, "asn.mmdb");
const UNKNOWN: GeoInfo = { cc: "ZZ", asn: 0, as_name: null };
const silent = (): void => {};

describe("GeoIP lookups on the fixture databases", () => {
  let geo: GeoIP;
  beforeAll(async () => {
    geo = await GeoIP.open({ countryDb: COUNTRY, asnDb: ASN, watch: false, log: silent });
  });
  afterAll(() => geo.close());

  it.each([
    ["203.0.113.7", "IT", 30722, "Vodafone Italia S.p.A."],
    ["203.0.113.255", "IT", 30722, "Vodafone Italia S.p.A."],
    ["198.51.100.1", "US", 7922, "Comcast Cable Communications, LLC"],
    ["192.0.2.200", "IR", 197207, "Mobile Communication Company of Iran PLC"],
    ["2001:db8::1", "DE", 3320, "Deutsche Telekom AG"],
    ["2001:db8:ffff::1", "DE", 3320, "Deutsche Telekom AG"],
    // The /48 inside the /32 wins: longest-prefix match.
    ["2001:db8:1::1", "BR", 28573, "Claro NXT Telecomunicacoes Ltda"],
    ["2001:db8:1:ffff::1", "BR", 28573, "Claro NXT Telecomunicacoes Ltda"],
    ["2001:db8:2::1", "DE", 3320, "Deutsche Telekom AG"],
    ["127.0.0.1", "IT", 30722, "Vodafone Italia S.p.A."],
    ["127.255.255.254", "IT", 30722, "Vodafone Italia S.p.A."],
    ["::1", "IT", 30722, "Vodafone Italia S.p.A."],
    // IPv4-mapped IPv6 resolves as the IPv4 address, in any spelling.
    ["::ffff:203.0.113.7", "IT", 30722, "Vodafone Italia S.p.A."],
    ["::FFFF:198.51.100.9", "US", 7922, "Comcast Cable Communications, LLC"],
    ["::ffff:c000:0201", "IR", 197207, "Mobile Communication Company of Iran PLC"],
    ["0:0:0:0:0:ffff:127.0.0.1", "IT", 30722, "Vodafone Italia S.p.A."],
    // Spellings seen in headers and socket addresses.
    [" 203.0.113.7\n", "IT", 30722, "Vodafone Italia S.p.A."],
    ["[2001:db8:1::5]", "BR", 28573, "Claro NXT Telecomunicacoes Ltda"],
    ["2001:DB8::1", "DE", 3320, "Deutsche Telekom AG"],
    ["2001:db8::1%eth0", "DE", 3320, "Deutsche Telekom AG"],
  ])("%s → %s / AS%i", (ip, cc, asn, asName) => {
    expect(geo.lookup(ip)).toEqual({ cc, asn, as_name: asName });
  });

  it.each(["8.8.8.8", "203.0.114.1", "2001:4860::8888", "2001:db9::1", "::2", "10.0.0.1"])(
    "unknown address %s → ZZ / 0 / null",
    (ip) => {
      expect(geo.lookup(ip)).toEqual(UNKNOWN);
    },
  );

  it.each(["", "   ", "not-an-ip", "999.1.1.1", "1.2.3.4:80", "[::1]:80", "1.2.3", "01.2.3.4", "::ffff:999.1.1.1", "2001:db8::1::2", "x".repeat(10_000)])(
    "garbage %j → fallback, no throw",
    (ip) => {
      expect(geo.lookup(ip)).toEqual(UNKNOWN);
    },
  );

  it("does not throw on non-string input smuggled past the types", () => {
    expect(geo.lookup(undefined as unknown as string)).toEqual(UNKNOWN);
    expect(geo.lookup(42 as unknown as string)).toEqual(UNKNOWN);
  });

  it("returns a fresh result object each time (callers may mutate it)", () => {
    const a = geo.lookup("203.0.113.7");
    a.cc = "XX";
    expect(geo.lookup("203.0.113.7").cc).toBe("IT");
  });

  it("formats ASNs the OONI way", () => {
    expect(geo.formatAsn(30722)).toBe("AS30722");
    expect(formatAsn(0)).toBe("AS0");
    expect(formatAsn(-1)).toBe("AS0");
  });

  it("reports which databases are live", () => {
    const info = geo.info();
    expect(info.country).toMatchObject({ path: COUNTRY, databaseType: "DBIP-Country-Lite" });
    expect(info.asn).toMatchObject({ path: ASN, databaseType: "DBIP-ASN-Lite" });
    expect(info.country.buildEpoch).toBeInstanceOf(Date);
  });
});

describe("GeoIP.open errors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "geoip-open-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("names a missing file", async () => {
    const missing = join(dir, "nope.mmdb");
    await expect(GeoIP.open({ countryDb: missing, asnDb: ASN, watch: false, log: silent })).rejects.toThrow(
      `GeoIP: cannot open country database ${missing}`,
    );
    await expect(GeoIP.open({ countryDb: COUNTRY, asnDb: missing, watch: false, log: silent })).rejects.toThrow(
      `GeoIP: cannot open asn database ${missing}`,
    );
  });

  it("names a file that is not an mmdb", async () => {
    const text = join(dir, "text.mmdb");
    await writeFile(text, "hello, this is not a database\n".repeat(100));
    await expect(GeoIP.open({ countryDb: text, asnDb: ASN, watch: false, log: silent })).rejects.toThrow(
      new RegExp(`${reEscape(text)}: not a MaxMind DB`),
    );
    const empty = join(dir, "empty.mmdb");
    await writeFile(empty, "");
    await expect(GeoIP.open({ countryDb: COUNTRY, asnDb: empty, watch: false, log: silent })).rejects.toThrow(empty);
  });

  it("names a gzip-compressed download", async () => {
    const gz = join(dir, "country.mmdb.gz");
    await writeFile(gz, gzipSync(await readFile(COUNTRY)));
    await expect(GeoIP.open({ countryDb: gz, asnDb: ASN, watch: false, log: silent })).rejects.toThrow(
      `${gz}: file is gzip-compressed`,
    );
  });

  it("names a truncated mmdb whose metadata survived", async () => {
    const buf = await readFile(COUNTRY);
    // Keep the tail (metadata) but drop most of the tree: the header claims more than exists.
    const cut = join(dir, "cut.mmdb");
    await writeFile(cut, buf.subarray(buf.length - 400));
    await expect(GeoIP.open({ countryDb: cut, asnDb: ASN, watch: false, log: silent })).rejects.toThrow(cut);
  });
});

describe("GeoIP reloading", () => {
  let dir: string;
  let geo: GeoIP | undefined;
  const logs: string[] = [];
  const log = (msg: string, extra?: object): void => {
    logs.push(`${msg} ${JSON.stringify(extra ?? {})}`);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "geoip-reload-"));
  });
  afterEach(() => {
    geo?.close();
    geo = undefined;
    logs.length = 0;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function freshCopies(name: string): Promise<{ country: string; asn: string }> {
    const country = join(dir, `${name}-country.mmdb`);
    const asn = join(dir, `${name}-asn.mmdb`);
    await copyFile(COUNTRY, country);
    await copyFile(ASN, asn);
    return { country, asn };
  }

  // How database updaters publish: write beside, then rename over the live path.
  async function replaceAtomically(target: string, data: Buffer | string): Promise<void> {
    const tmp = `${target}.tmp-${process.pid}`;
    await writeFile(tmp, data);
    await rename(tmp, target);
  }

  async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out; logs:\n${logs.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("reload() swaps in new files and keeps the old reader when a file is broken", async () => {
    const p = await freshCopies("manual");
    geo = await GeoIP.open({ countryDb: p.country, asnDb: p.asn, watch: false, log });
    expect(geo.lookup("203.0.113.7").cc).toBe("IT");

    await copyFile(join(FIXTURES, "alt-country.mmdb"), p.country);
    await copyFile(join(FIXTURES, "alt-asn.mmdb"), p.asn);
    await geo.reload();
    expect(geo.lookup("203.0.113.7")).toEqual({ cc: "FR", asn: 3215, as_name: "Orange S.A." });

    // One file broken, the other fine: each keeps or swaps on its own.
    await writeFile(p.country, "garbage");
    await copyFile(ASN, p.asn);
    await geo.reload();
    expect(geo.lookup("203.0.113.7")).toEqual({ cc: "FR", asn: 30722, as_name: "Vodafone Italia S.p.A." });
    expect(logs.some((l) => l.includes("geoip reload failed") && l.includes(p.country))).toBe(true);

    await rm(p.country);
    await geo.reload();
    expect(geo.lookup("203.0.113.7").cc).toBe("FR");
  });

  it("hot-swaps watched files replaced by rename, with no fallback during the swap", async () => {
    const p = await freshCopies("watch");
    geo = await GeoIP.open({ countryDb: p.country, asnDb: p.asn, log });
    const g = geo;

    // Hammer lookups on every turn of the event loop while the files are replaced.
    let stop = false;
    let lookups = 0;
    const bad: GeoInfo[] = [];
    const seen = new Set<string>();
    const hammer = new Promise<void>((done) => {
      const tick = (): void => {
        for (let i = 0; i < 50; i++) {
          const r = g.lookup("203.0.113.7");
          lookups++;
          const ok =
            (r.cc === "IT" || r.cc === "FR") &&
            (r.asn === 30722 || r.asn === 3215) &&
            r.as_name !== null;
          if (!ok) bad.push(r);
          seen.add(`${r.cc}/${r.asn}`);
        }
        if (stop) done();
        else setImmediate(tick);
      };
      tick();
    });

    await replaceAtomically(p.country, await readFile(join(FIXTURES, "alt-country.mmdb")));
    await replaceAtomically(p.asn, await readFile(join(FIXTURES, "alt-asn.mmdb")));
    await waitFor(() => {
      const r = g.lookup("203.0.113.7");
      return r.cc === "FR" && r.asn === 3215;
    });

    // A corrupt replacement, atomically and then in place, keeps the data already loaded.
    await replaceAtomically(p.country, Buffer.from("definitely not an mmdb"));
    await waitFor(() => logs.some((l) => l.includes("geoip reload failed") && l.includes(p.country)));
    logs.length = 0;
    await writeFile(p.asn, (await readFile(ASN)).subarray(0, 300));
    await waitFor(() => logs.some((l) => l.includes("geoip reload failed") && l.includes(p.asn)));

    stop = true;
    await hammer;
    expect(bad).toEqual([]);
    expect(lookups).toBeGreaterThan(1000);
    expect(seen).toContain("IT/30722");
    expect(seen).toContain("FR/3215");
    expect(g.lookup("203.0.113.7")).toEqual({ cc: "FR", asn: 3215, as_name: "Orange S.A." });
    expect(g.lookup("2001:db8:1::1").cc).toBe("BR");
  });

  it("keeps serving when a watched file disappears, and picks it up when it returns", async () => {
    const p = await freshCopies("vanish");
    geo = await GeoIP.open({ countryDb: p.country, asnDb: p.asn, log });
    const g = geo;
    await rm(p.country);
    await waitFor(() => logs.some((l) => l.includes("disappeared")));
    expect(g.lookup("203.0.113.7").cc).toBe("IT");
    await copyFile(join(FIXTURES, "alt-country.mmdb"), p.country);
    await waitFor(() => g.lookup("203.0.113.7").cc === "FR");
  });

  it("stops watching after close()", async () => {
    const p = await freshCopies("closed");
    geo = await GeoIP.open({ countryDb: p.country, asnDb: p.asn, log });
    geo.close();
    await replaceAtomically(p.country, await readFile(join(FIXTURES, "alt-country.mmdb")));
    await new Promise((r) => setTimeout(r, 2500));
    expect(geo.lookup("203.0.113.7").cc).toBe("IT");
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
