import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { report } from "../support/reliability";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { loginViaOutbox, type Fetcher } from "../origin/oonirun/support";
import { rawHttp } from "./support/http";
import { ADMIN, EDGE_SECRET, JWT_SECRET } from "./support/origin";

// Client-address spoofing against a real origin process on loopback: the client is 127.0.0.1
// (GeoIP fixture: IT, AS30722). Address headers naming 198.51.100.7 (US, AS7922) must change
// nothing — GeoIP at check-in, the quota key, the logs — unless the request carries exactly the
// edge's shared secret.

const SPOOFED = "198.51.100.7";
const SPOOFED_NET = "198.51.100.0/24";
let origin: OriginProcess;
let admin: string;

beforeAll(async () => {
  origin = await startOriginProcess({
    env: { JWT_SECRET, EDGE_SHARED_SECRET: EDGE_SECRET, ADMIN_EMAILS: ADMIN, LOG_LEVEL: "info", TIMERS_IN_ORIGIN: "false" },
  });
  const f: Fetcher = (p, init) => fetch(`${origin.url}${p}`, init);
  admin = await loginViaOutbox(f, path.join(origin.dataDir, "outbox"), ADMIN);
});

afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

const ADDRESS_HEADERS: Record<string, string>[] = [
  { "x-forwarded-for": SPOOFED },
  { "x-forwarded-for": `${SPOOFED}, 127.0.0.1` },
  { "x-real-ip": SPOOFED },
  { "cf-connecting-ip": SPOOFED },
  { "true-client-ip": SPOOFED },
  { "x-client-ip": SPOOFED },
  { forwarded: `for=${SPOOFED};proto=https` },
];

// Everything that is not exactly the secret. (Leading/trailing spaces are not here: HTTP itself
// strips them from header values, so " secret" is the secret.)
const BAD_SECRETS: [string, Record<string, string | string[]>][] = [
  ["no secret", {}],
  ["empty", { "x-ooni-edge-auth": "" }],
  ["wrong, same length", { "x-ooni-edge-auth": "x".repeat(EDGE_SECRET.length) }],
  ["prefix", { "x-ooni-edge-auth": EDGE_SECRET.slice(0, -1) }],
  ["first byte only", { "x-ooni-edge-auth": EDGE_SECRET.slice(0, 1) }],
  ["secret plus one byte", { "x-ooni-edge-auth": `${EDGE_SECRET}x` }],
  ["upper-cased", { "x-ooni-edge-auth": EDGE_SECRET.toUpperCase() }],
  ["sent twice", { "x-ooni-edge-auth": [EDGE_SECRET, EDGE_SECRET] }],
  ["10 KiB", { "x-ooni-edge-auth": EDGE_SECRET.repeat(Math.ceil(10_240 / EDGE_SECRET.length)) }],
  ["multi-byte of the same byte length", { "x-ooni-edge-auth": "é".repeat(EDGE_SECRET.length / 2) }],
  ["under another header name", { "x-ooni-edge-auth-2": EDGE_SECRET, "x-edge-auth": EDGE_SECRET }],
];

async function checkIn(headers: Record<string, string | string[]>) {
  const body = JSON.stringify({ probe_cc: "ZZ", probe_asn: "AS0", platform: "linux", software_name: "t", software_version: "1", on_wifi: false, charging: false, run_type: "timed", web_connectivity: { category_codes: [] } });
  return rawHttp(origin.url, { method: "POST", path: "/api/v1/check-in", headers: { "content-type": "application/json", ...headers }, bodyText: body });
}

async function quotaNetworks(): Promise<string[]> {
  const r = await fetch(`${origin.url}/api/_/quotas_summary?limit=1000`, { headers: { authorization: `Bearer ${admin}` } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { networks: { key: string }[] }).networks.map((n) => n.key);
}

describe("client address without the edge secret", () => {
  it("check-in GeoIP, the quota key and the logs see the socket address, whatever headers claim", async () => {
    let cases = 0;
    for (const [name, secret] of BAD_SECRETS) {
      for (const addr of ADDRESS_HEADERS) {
        cases++;
        const r = await checkIn({ ...addr, ...secret });
        expect(r.status, `${name} ${JSON.stringify(addr)}: ${r.text.slice(0, 200)}`).toBe(200);
        expect({ cc: r.json.probe_cc, asn: r.json.probe_asn }, `${name} ${JSON.stringify(addr)}`).toEqual({ cc: "IT", asn: "AS30722" });
        // A metered route, so the quota store records whichever network it believes.
        const m = await rawHttp(origin.url, { method: "GET", path: "/api/_/countries", headers: { ...addr, ...secret } });
        expect(m.status).toBe(200);
      }
    }
    const nets = await quotaNetworks();
    expect(nets).toContain("127.0.0.0/24");
    expect(nets).not.toContain(SPOOFED_NET);
    // Request logs say via_edge false; no log line carries the claimed address.
    const lines = origin.logs.filter((l) => l.includes('"request"') || l.includes(SPOOFED));
    expect(lines.some((l) => l.includes('"via_edge":true'))).toBe(false);
    expect(origin.logs.filter((l) => l.includes(SPOOFED))).toEqual([]);
    report("security", "client-ip spoofing without the secret", { secrets: BAD_SECRETS.length, headers: ADDRESS_HEADERS.length, cases, passed: cases });
  });

  it("with exactly the secret, X-Forwarded-For is the client (and only it, not X-Real-IP or CF-Connecting-IP)", async () => {
    const good = await checkIn({ "x-forwarded-for": SPOOFED, "x-ooni-edge-auth": EDGE_SECRET });
    expect({ cc: good.json.probe_cc, asn: good.json.probe_asn }).toEqual({ cc: "US", asn: "AS7922" });
    for (const h of ["x-real-ip", "cf-connecting-ip", "true-client-ip", "forwarded"]) {
      const r = await checkIn({ [h]: h === "forwarded" ? `for=${SPOOFED}` : SPOOFED, "x-ooni-edge-auth": EDGE_SECRET });
      expect(r.json.probe_cc, h).toBe("IT");
    }
    const m = await rawHttp(origin.url, { method: "GET", path: "/api/_/countries", headers: { "x-forwarded-for": SPOOFED, "x-ooni-edge-auth": EDGE_SECRET } });
    expect(m.status).toBe(200);
    expect(await quotaNetworks()).toContain(SPOOFED_NET);
    report("security", "client-ip with the secret", { cases: 6, passed: 6 });
  });
});
