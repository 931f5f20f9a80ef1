import { request } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { call, loginViaOutbox, type Fetcher } from "../origin/oonirun/support";
import { newProbeHome, runMiniooni, type MinioooniRun } from "./support/miniooni";
import { submittedContent } from "./support/recorder";
import { startInteropStack, type InteropStack } from "./support/stack";

// The real OONI probe (miniooni, built from probe-cli by the project's global setup) through the
// bridge: the real Worker in workerd on two random hostnames, the real origin (embedded chDB, temp
// blob store), our web-connectivity helper and legacy helpers, and loopback stand-ins for the rest
// of the world (docs/interop.md). For every experiment: the probe exits 0, and every measurement it
// submitted was answered 200, is byte-identical through raw_measurement and measurement/{uid}, has
// its fastpath row (measurement_meta with scores) and is listed by /api/v1/measurements.

const skip = inject("interopSkip");
const bins = inject("probeCli");
if (skip) console.warn(`interop: skipped: ${skip}`);

let stack: InteropStack;
let home: string;
let runLinkId = "";

beforeAll(async () => {
  if (skip) return;
  stack = await startInteropStack({ bridges: 2 });
  home = newProbeHome();
  // An OONI Run v2 link, made the way its author would: log in by email, create the link.
  const f: Fetcher = (p, init) => fetch(stack.origin.url + p, init);
  const bearer = await loginViaOutbox(f, path.join(stack.origin.dataDir, "outbox"), "campaigner@example.org");
  const link = await call(f, "POST", "/api/v2/oonirun/links", {
    bearer,
    body: {
      name: "Interop campaign",
      short_description: "Farm sites and STUN",
      description: "Runs web_connectivity and stunreachability against the loopback stand-ins.",
      author: "",
      nettests: [
        { test_name: "web_connectivity", inputs: [`http://${stack.sites[0]}/title/entities`], options: {} },
        { test_name: "stunreachability", inputs: ["stun://stun.ekiga.net:3478"], options: {} },
      ],
    },
  });
  expect(link.status, link.text).toBe(200);
  runLinkId = String(link.json.oonirun_link_id);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

/** GET through the bridge, as Explorer or a script would, on one of the bridge's names. */
function viaBridge(host: string, p: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: stack.edge.port, path: p, headers: { host: `${host}:${stack.edge.port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function eventually<T>(what: string, f: () => Promise<T | null>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

let runs = 0;
/** Runs miniooni on the next bridge name and checks everything it submitted. */
async function measure(args: string[], tests: string[]): Promise<MinioooniRun & { measurements: Record<string, any>[] }> {
  const expected = { count: tests.length };
  const host = stack.bridgeHosts[runs++ % stack.bridgeHosts.length]!;
  const before = stack.recorder.submissions.length;
  const run = await runMiniooni(
    {
      binary: bins.miniooni,
      probeServices: `http://${host}:${stack.recorder.port}`,
      udpResolver: `${stack.farmAddress}:53`,
      telegramDCs: stack.farmAddress,
      // A name in no /etc/hosts line goes to the suite's DNS responder, not the machine's nameserver.
      wrap: stack.resolv.wrap,
      home,
    },
    args,
  );
  const tail = run.log.split("\n").slice(-40).join("\n");
  expect(run.code, tail).toBe(0);
  const submitted = stack.recorder.submissions.slice(before);
  expect(submitted.map((s) => s.status), tail).toEqual(Array(expected.count).fill(200));
  const answered = submitted.map((s) => (JSON.parse(s.answer) as { measurement_uid: string }).measurement_uid);
  expect(new Set(answered).size).toBe(expected.count);
  expect(run.uids.sort()).toEqual([...answered].sort());

  const names: string[] = [];
  const measurements: Record<string, any>[] = [];
  for (const s of submitted) {
    const uid = (JSON.parse(s.answer) as { measurement_uid: string }).measurement_uid;
    const content = submittedContent(s.body);
    const m = JSON.parse(content.toString()) as { test_name: string };
    names.push(m.test_name);
    measurements.push(m);
    // Wait at the origin until the fastpath has scored it (asking the bridge early would only
    // warm its cache with "not yet"); then everything a reader sees, through the other bridge name.
    await eventually(`fastpath row for ${uid}`, async () => {
      const r = await fetch(`${stack.origin.url}/api/v1/measurement_meta?measurement_uid=${uid}`);
      const j = r.status === 200 ? ((await r.json()) as { scores?: string }) : null;
      return j?.scores ? true : null;
    });
    const other = stack.bridgeHosts[runs % stack.bridgeHosts.length]!;
    const raw = await viaBridge(other, `/api/v1/raw_measurement?measurement_uid=${uid}`);
    expect(raw.status, raw.body.toString()).toBe(200);
    expect(raw.body.equals(content), `raw_measurement ${uid} differs from what the probe sent`).toBe(true);
    const byUid = await viaBridge(other, `/api/v1/measurement/${uid}`);
    expect(byUid.status, byUid.body.toString()).toBe(200);
    expect(byUid.body.equals(content), `measurement/${uid} differs from what the probe sent`).toBe(true);
    const meta = await viaBridge(other, `/api/v1/measurement_meta?measurement_uid=${uid}`);
    expect(meta.status, meta.body.toString()).toBe(200);
    const j = JSON.parse(meta.body.toString()) as { measurement_uid: string; report_id: string; scores: string; test_name: string };
    expect(j.measurement_uid).toBe(uid);
    expect(j.test_name).toBe(m.test_name);
    expect(typeof JSON.parse(j.scores)).toBe("object");
    const listed = await viaBridge(other, `/api/v1/measurements?report_id=${encodeURIComponent(j.report_id)}&limit=100`);
    expect(listed.status, listed.body.toString()).toBe(200);
    const results = (JSON.parse(listed.body.toString()) as { results: { measurement_uid: string }[] }).results;
    expect(results.map((x) => x.measurement_uid)).toContain(uid);
  }
  expect(names.sort()).toEqual([...tests].sort());
  return { ...run, measurements };
}

describe.skipIf(skip !== "")("the real probe through the bridge", () => {
  it("web_connectivity v0.5 on given URLs (plain, HTTPS with a self-signed certificate, redirects)", async () => {
    const s = () => stack.sites;
    await measure(["-i", `http://${s()[0]}/`, "-i", `https://${s()[1]}/`, "-i", `http://${s()[2]}/redirect/3`, "web_connectivity@v0.5"], Array(3).fill("web_connectivity"));
  });

  it("web_connectivity v0.5 on the check-in list", async () => {
    // The origin's test list here is farm URLs (stack.ts): 3 global + 1 for the probe's country.
    // No input: the URLs come from check-in — the four farm URLs of the origin's test list, no more.
    await measure(["web_connectivity@v0.5"], Array(4).fill("web_connectivity"));
  });

  it("web_connectivity v0.4 on given URLs and on the check-in list", async () => {
    await measure(["-i", `http://${stack.sites[0]}/headers/many`, "-i", `http://${stack.sites[1]}/cookie/set`, "web_connectivity"], Array(2).fill("web_connectivity"));
    await measure(["web_connectivity"], Array(4).fill("web_connectivity"));
  });

  it("dnscheck against the loopback DNS responder", async () => {
    const r = await measure(["-i", `udp://${stack.farmAddress}:53`, "-O", `Domain=${stack.names.dnscheck}`, "dnscheck"], ["dnscheck"]);
    expect(JSON.stringify(r.measurements[0]!.test_keys.lookups)).toContain(stack.farmAddress);
    expect(stack.dns.queries).toContain(stack.names.dnscheck);
  });

  it("stunreachability against the STUN responder", async () => {
    const before = stack.stun.requests;
    await measure(["-i", "stun://stun.l.google.com:19302", "-i", "stun://stun.ekiga.net:3478", "stunreachability"], Array(2).fill("stunreachability"));
    expect(stack.stun.requests).toBeGreaterThan(before);
  });

  it("signal, whatsapp and facebook_messenger (their hosts mapped to the farm)", async () => {
    await measure(["signal"], Array(1).fill("signal"));
    await measure(["whatsapp"], Array(1).fill("whatsapp"));
    await measure(["facebook_messenger"], Array(1).fill("facebook_messenger"));
  });

  it("tor, with the tor-targets the origin serves pointed at the farm", async () => {
    await measure(["tor"], Array(1).fill("tor"));
    expect(stack.farm.seen.some((l) => l.startsWith("GET /tor/"))).toBe(true);
  });

  it("http_header_field_manipulation and http_invalid_request_line against our legacy helpers", async () => {
    const hhfm = await measure(["http_header_field_manipulation"], ["http_header_field_manipulation"]);
    expect(hhfm.log).not.toMatch(/no available helpers/);
    // It reached our http-return-json-headers helper and saw its headers come back untouched.
    const tk = hhfm.measurements[0]!.test_keys;
    expect(tk.failure ?? null).toBeNull();
    expect(tk.tampering?.total).toBe(false);
    const hirl = await measure(["http_invalid_request_line"], ["http_invalid_request_line"]);
    // Every odd request line came back byte for byte from tcp-echo: no tampering.
    expect(hirl.measurements[0]!.test_keys.tampering).toBe(false);
    expect(hirl.measurements[0]!.test_keys.received.length).toBeGreaterThan(0);
  });

  it("an OONI Run v2 link served by the bridge", async () => {
    const url = `http://${stack.bridgeHosts[1]}:${stack.recorder.port}/api/v2/oonirun/links/${runLinkId}`;
    // The link holds two nettests, one input each.
    await measure(["-i", url, "oonirun"], ["web_connectivity", "stunreachability"]);
  });

  it("telegram, its data centres and web.telegram.org on the farm", async () => {
    const before = stack.farm.seen.length;
    await measure(["telegram"], ["telegram"]);
    // The probe's POSTs to the "data centre" reached the farm on port 80.
    expect(stack.farm.seen.slice(before).some((l) => l.startsWith("POST / "))).toBe(true);
  });
});
