import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { LookupFunction } from "node:net";
import path from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { startEdgeProcess, type EdgeProcess } from "./edge-process";
import { ENGINE_USER_AGENT, ProbeCallError, ProbeEngine, utcProbeTime, webConnectivityMeasurement, type Fetcher } from "./probe-engine";

// The probe contract end to end, as a probe in the field sees it: real origin (embedded chDB,
// fixture GeoIP, fixture test list) behind the real edge Worker under `wrangler dev`, reached on a
// random hostname. Every field the engine parses is asserted, and every acknowledged measurement
// is then read back from the origin's spool.

const edgeSecret = randomBytes(24).toString("hex");
let origin: OriginProcess;
let edge: EdgeProcess;
let engine: ProbeEngine;
let bridgeHost: string;

// Any hostname resolves to the local edge, as DNS would send a probe to a bridge.
const toLoopback = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
  opts?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4)) as unknown as LookupFunction;
const agent = new Agent({ connect: { lookup: toLoopback } });
const viaBridge: Fetcher = (url, init) => undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;

beforeAll(async () => {
  origin = await startOriginProcess({ env: { EDGE_SHARED_SECRET: edgeSecret } });
  edge = await startEdgeProcess({ originUrl: origin.url, edgeSecret });
  bridgeHost = `${randomBytes(4).toString("hex")}.bridge-${randomBytes(3).toString("hex")}.example`;
  // A base URL with a path: the engine drops it and uses absolute paths.
  engine = new ProbeEngine(`http://${bridgeHost}:${edge.port}/ignored/prefix/`, viaBridge);
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await origin?.stop();
  origin?.cleanup();
  await agent.close();
});

function spoolFile(uid: string): Buffer {
  const [ts, cc, test] = uid.split("_");
  return readFileSync(path.join(origin.dataDir, "spool", "incoming", `${ts!.slice(0, 10)}_${cc}_${test}`, `${uid}.post`));
}

describe("probe contract through the edge on a random hostname", () => {
  it("runs a whole probe session: test-helpers → register → login → tor-targets → check-in → report → submit ×3 → submit_measurement → close", async () => {
    // 1. Backend discovery: the bridge the probe used is its first web-connectivity helper.
    const helpers = await engine.testHelpers();
    const wc = helpers["web-connectivity"]!;
    expect(wc[0]).toEqual({ address: `http://${bridgeHost}:${edge.port}`, type: "https" });
    for (const s of wc) {
      expect(["https", "cloudfront"]).toContain(s.type);
      expect(() => new URL(s.address)).not.toThrow();
    }

    // 2–3. Register and login.
    const password = randomBytes(32).toString("hex").replace(/[0-9]/g, "x").slice(0, 64);
    const { client_id } = await engine.register(password);
    expect(client_id).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const { token, expire } = await engine.login(client_id, password);
    expect(expire).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/); // Go layout 2006-01-02T15:04:05Z
    expect(Date.parse(expire) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    // 4. Tor targets with the Bearer token.
    const tor = await engine.torTargets(token, "IT");
    expect(Object.keys(tor).length).toBeGreaterThan(0);
    for (const t of Object.values(tor)) {
      expect(typeof t.address).toBe("string");
      expect(typeof t.name).toBe("string");
      expect(typeof t.protocol).toBe("string");
      expect(t.params === null || typeof t.params === "object").toBe(true);
    }
    expect(typeof (await engine.psiphonConfig(token))).toBe("object");

    // 5. Check-in: GeoIP of the address the edge saw (127.0.0.1 → IT AS30722 in the fixture).
    const ci = await engine.checkIn("ZZ", "AS0");
    expect(ci.v).toBe(1);
    expect(ci.probe_cc).toBe("IT");
    expect(ci.probe_asn).toBe("AS30722");
    expect(ci.probe_network_name).toBe("Vodafone Italia S.p.A.");
    expect(ci.utc_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(typeof ci.conf.features.vanilla_tor_enabled).toBe("boolean");
    expect(ci.conf.test_helpers["web-connectivity"]![0]!.address).toBe(`http://${bridgeHost}:${edge.port}`);
    const urls = ci.tests.web_connectivity!.urls!;
    expect(urls.length).toBe(20); // timed run on battery
    for (const u of urls) {
      expect(u.country_code).toMatch(/^(IT|XX)$/);
      expect(u.category_code).toMatch(/^[A-Z]+$/);
      expect(new URL(u.url).protocol).toMatch(/^https?:$/);
    }
    expect(ci.tests.web_connectivity!.report_id).toMatch(/^\d{8}T\d{6}Z_webconnectivity_IT_30722_n1_[A-Za-z0-9]{16}$/);

    // 6. Open a report (the mobile path).
    const start = utcProbeTime();
    const report = await engine.openReport("web_connectivity", ci.probe_cc, ci.probe_asn, start);
    expect(report.supported_formats).toContain("json");
    expect(typeof report.backend_version).toBe("string");
    expect(report.report_id).toHaveLength(61);
    expect(report.report_id).toMatch(/^\d{8}T\d{6}Z_webconnectivity_IT_30722_n1_[A-Za-z0-9]{16}$/);

    // 7. Three measurements into it (one gzip-encoded): each one on disk, byte-identical.
    const uids: string[] = [];
    for (const [i, u] of urls.slice(0, 3).entries()) {
      const m = webConnectivityMeasurement(ci.probe_cc, ci.probe_asn, u.url, start);
      const { raw, answer } = await engine.submitToReport(report.report_id, m, i === 1 ? "gzip" : undefined);
      expect(Object.keys(answer)).toEqual(["measurement_uid"]);
      expect(answer.measurement_uid).toMatch(/^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$/);
      expect(spoolFile(answer.measurement_uid)).toEqual(Buffer.from(raw));
      uids.push(answer.measurement_uid);
    }
    expect(new Set(uids).size).toBe(3);

    // 8. The current desktop/CLI path: no report, the measurement as a JSON string.
    const m4 = webConnectivityMeasurement(ci.probe_cc, ci.probe_asn, urls[3]!.url, start);
    const { text, answer } = await engine.submitMeasurement(m4);
    expect(answer.measurement_uid).toMatch(/^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$/);
    const stored = spoolFile(answer.measurement_uid).toString();
    expect(stored).toMatch(/^\{"format":"json","report_id":"\d{8}T\d{6}Z_webconnectivity_IT_30722_n1_[A-Za-z0-9]{16}","content":/);
    expect(stored.endsWith(`"content":${text}}`)).toBe(true);

    // 9. Close (old clients).
    expect(await engine.closeReport(report.report_id)).toEqual({});

    // What the probe sent: its headers on every call, Bearer only where needed.
    for (const s of engine.sent) {
      expect(s.headers["User-Agent"]).toBe(ENGINE_USER_AGENT);
      expect(s.headers["Accept-Encoding"]).toBe("gzip");
      expect(new URL(s.url).pathname.startsWith("/ignored")).toBe(false);
      if (s.method === "POST") expect(s.headers["Content-Type"]).toBe("application/json");
      expect("Authorization" in s.headers).toBe(/tor-targets|psiphon-config/.test(s.url));
    }
  });

  it("treats anything but 200 as a failure, with a JSON error body", async () => {
    const fail = async (p: Promise<unknown>) => {
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ProbeCallError);
      expect(typeof (JSON.parse((err as ProbeCallError).body) as { error: unknown }).error).toBe("string");
      return (err as ProbeCallError).status;
    };
    expect(await fail(engine.torTargets("not-a-token", "IT"))).toBe(401);
    expect(await fail(engine.call("GET", "/api/v2/ooniprobe/vpn-config/no-such-provider"))).toBe(404);
    expect(await fail(engine.openReport("web_connectivity", "ZZ", "AS0", utcProbeTime()))).toBe(400);
    expect(await fail(engine.submitToReport("20240214T090617Z_webconnectivity_IT_30722_n1_..", webConnectivityMeasurement("IT", "AS30722", "https://x.org/", utcProbeTime())))).toBe(400);
  });

  it("a forged X-Forwarded-For from the probe does not move it: the edge replaces it", async () => {
    const ci = await engine.call<{ probe_cc: string }>("POST", "/api/v1/check-in", { json: {} });
    const forged = await viaBridge(`http://${bridgeHost}:${edge.port}/api/v1/check-in`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.7", "x-ooni-edge-auth": "guess" },
      body: "{}",
    });
    expect(((await forged.json()) as { probe_cc: string }).probe_cc).toBe(ci.probe_cc);
    expect(ci.probe_cc).toBe("IT");
  });
});
