import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GeoIP } from "../../../origin/src/geoip/geoip";
import type { Services } from "../../../origin/src/services";
import { updateGeoip } from "../../../origin/src/updaters/geoip";
import { repoRoot } from "../../support/origin-process";
import { openTestServices, serveFiles, type TestServices } from "./support";

// The GeoIP downloader against a loopback HTTP server serving the fixture databases. The live
// files start as the main fixture pair (203.0.113.0/24 → IT, AS30722); the server offers the alt
// pair (→ FR, AS3215). Lookups run without pause while the update happens, in this process and in
// a second reader that only watches the files (as another origin process would).

const FIXTURES = path.join(repoRoot, "origin/fixtures/geoip");
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));
const PROBE_IP = "203.0.113.7";
const OLD = "IT/30722";
const NEW = "FR/3215";

let t: TestServices;
let geoDir: string;
let server: Awaited<ReturnType<typeof serveFiles>>;
const routes = new Map<string, Buffer | number>();

function monthPath(prefix: string): string {
  const now = new Date();
  return `${prefix}-${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}.mmdb.gz`;
}

/** services whose GeoIP URLs (and maybe verify list) are set for one test. */
function withUrls(country: string | null, asn: string | null, verifyIps = ["203.0.113.1", "2001:db8::1"]): Services {
  const s = t.services;
  return { ...s, config: { ...s.config, updaters: { ...s.config.updaters, geoip: { countryUrl: country, asnUrl: asn, verifyIps } } } };
}

function key(g: { cc: string; asn: number }): string {
  return `${g.cc}/${g.asn}`;
}

/** A copy of an .mmdb whose build_epoch is a year earlier (same byte length, so still valid). */
function olderBuild(buf: Buffer): Buffer {
  const b = Buffer.from(buf);
  const at = b.lastIndexOf("build_epoch") + "build_epoch".length;
  // MaxMind DB metadata: uint64 is an "extended" type: control byte (size in the low 5 bits), then 0x02.
  const size = b[at]! & 0x1f;
  expect(b[at]! >> 5).toBe(0);
  expect(b[at + 1]).toBe(2);
  let v = 0n;
  for (let k = 0; k < size; k++) v = (v << 8n) | BigInt(b[at + 2 + k]!);
  v -= 365n * 86400n;
  for (let k = size - 1; k >= 0; k--) {
    b[at + 2 + k] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

beforeAll(async () => {
  geoDir = mkdtempSync(path.join(tmpdir(), "geoip-live-"));
  mkdirSync(geoDir, { recursive: true });
  copyFileSync(path.join(FIXTURES, "country.mmdb"), path.join(geoDir, "country.mmdb"));
  copyFileSync(path.join(FIXTURES, "asn.mmdb"), path.join(geoDir, "asn.mmdb"));
  t = await openTestServices({ GEOIP_COUNTRY_DB: path.join(geoDir, "country.mmdb"), GEOIP_ASN_DB: path.join(geoDir, "asn.mmdb") });
  routes.set(`/${monthPath("dbip-country-lite")}`, gzipSync(fixture("alt-country.mmdb")));
  routes.set("/asn/alt-asn.mmdb", fixture("alt-asn.mmdb"));
  routes.set("/broken/country.mmdb", fixture("alt-country.mmdb").subarray(0, 2000));
  routes.set("/wrong/country.mmdb", fixture("alt-asn.mmdb"));
  routes.set("/older/country.mmdb", olderBuild(fixture("alt-country.mmdb")));
  server = await serveFiles(routes);
});
afterAll(async () => {
  await server?.close();
  await t?.close();
  rmSync(geoDir, { recursive: true, force: true });
});

describe("GeoIP downloader", () => {
  it("refuses a download that is not a usable database, leaving the live files as they were", async () => {
    const live = readFileSync(path.join(geoDir, "country.mmdb"));
    await expect(updateGeoip(withUrls(`${server.url}/broken/country.mmdb`, null))).rejects.toThrow(/cannot open country database/);
    await expect(updateGeoip(withUrls(`${server.url}/wrong/country.mmdb`, null))).rejects.toThrow(/is a DBIP-ASN-Lite database, not a country one/);
    await expect(updateGeoip(withUrls(`${server.url}/missing.mmdb`, null))).rejects.toThrow(/answered HTTP 404/);
    await expect(updateGeoip(withUrls(`${server.url}/{YYYY}/{MM}/nope.mmdb`, null))).rejects.toThrow(/HTTP 404/);
    // Valid, but it does not know an address it must know.
    await expect(updateGeoip(withUrls(`${server.url}/dbip-country-lite-{YYYY}-{MM}.mmdb.gz`, null, ["203.0.113.1", "8.8.8.8"]))).rejects.toThrow(
      /sample lookups found no country for 8\.8\.8\.8/,
    );
    // An older build than the one in use (a stale mirror) needs --force.
    await expect(updateGeoip(withUrls(`${server.url}/older/country.mmdb`, null))).rejects.toThrow(/was built .* before the database in use/);
    // The ASN one is fine, but both are checked before either is replaced.
    await expect(updateGeoip(withUrls(`${server.url}/broken/country.mmdb`, `${server.url}/asn/alt-asn.mmdb`))).rejects.toThrow();
    expect(readFileSync(path.join(geoDir, "country.mmdb")).equals(live)).toBe(true);
    expect(readFileSync(path.join(geoDir, "asn.mmdb")).equals(fixture("asn.mmdb"))).toBe(true);
    expect(key(t.services.geoip.lookup(PROBE_IP))).toBe(OLD);
  });

  it("never overwrites the committed fixture databases", async () => {
    const s = withUrls(`${server.url}/asn/alt-asn.mmdb`, null);
    const onFixture = { ...s, config: { ...s.config, geoip: { countryDb: path.join(FIXTURES, "country.mmdb"), asnDb: path.join(FIXTURES, "asn.mmdb") } } };
    await expect(updateGeoip(onFixture)).rejects.toThrow(/is the committed test fixture/);
  });

  it("swaps both databases under continuous lookups with zero failed lookups", async () => {
    // A second reader that only polls the files, like another origin process on this host.
    const watcher = await GeoIP.open({ countryDb: path.join(geoDir, "country.mmdb"), asnDb: path.join(geoDir, "asn.mmdb"), watch: true, log: () => {} });
    const allowed = new Set(["IT", "FR"].flatMap((cc) => ["30722", "3215"].map((asn) => `${cc}/${asn}`)));
    const seen = new Map<string, number>();
    const failures: string[] = [];
    let lookups = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        for (let i = 0; i < 500; i++) {
          for (const geo of [t.services.geoip, watcher]) {
            const k = key(geo.lookup(PROBE_IP));
            lookups++;
            seen.set(k, (seen.get(k) ?? 0) + 1);
            if (!allowed.has(k)) failures.push(k);
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      const r = await updateGeoip(withUrls(`${server.url}/dbip-country-lite-{YYYY}-{MM}.mmdb.gz`, `${server.url}/asn/alt-asn.mmdb`));
      expect(r.summary).toMatch(/installed: country DBIP-Country-Lite .*; asn DBIP-ASN-Lite/);
      // This process reloads as part of the update.
      expect(key(t.services.geoip.lookup(PROBE_IP))).toBe(NEW);
      // The other reader picks the new files up by its own polling.
      await vi.waitFor(() => expect(key(watcher.lookup(PROBE_IP))).toBe(NEW), { timeout: 20_000, interval: 100 });
    } finally {
      stop = true;
      await loop;
      watcher.close();
    }
    expect(failures).toEqual([]);
    expect(seen.get(OLD)).toBeGreaterThan(0);
    expect(seen.get(NEW)).toBeGreaterThan(0);
    expect(lookups).toBeGreaterThan(1000);
    expect(server.hits).toContain(`/${monthPath("dbip-country-lite")}`);
    expect(readFileSync(path.join(geoDir, "country.mmdb")).equals(fixture("alt-country.mmdb"))).toBe(true);
  });

  it("an identical download is verified but not installed again", async () => {
    const r = await updateGeoip(withUrls(null, `${server.url}/asn/alt-asn.mmdb`));
    expect(r.summary).toMatch(/nothing new: asn DBIP-ASN-Lite built \S+ \(unchanged\)/);
  });
});
