import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../origin/src/app";
import { loadConfig } from "../../../origin/src/config";
import { metrics } from "../../../origin/src/metrics";
import { directCheckIn } from "../../../origin/src/probe/checkin-direct/handler";
import { closeServices, openServices, type Services } from "../../../origin/src/services";

// The direct check-in handler (probe/checkin-direct/) against the hono app it stands in for: two
// loopback servers over the same services — one the app alone, one the direct handler in front of
// the app as server.ts wires it — get the same raw HTTP requests, and must answer with the same
// status, the same headers in the same order, the same body (but for what is random or timed), and
// write the same request log line. The requests the handler must leave to the app are shown to
// reach it.

const EDGE_SECRET = "checkin-direct-edge-secret-0123456789";
const logLines: Record<string, unknown>[] = [];
let dataDir: string;
let services: Services;
let honoOnly: Server;
let withDirect: Server;
/** Requests the direct handler passed on to the app. */
let passedOn = 0;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}
let honoPort: number;
let directPort: number;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "checkin-direct-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: "info",
    EDGE_SHARED_SECRET: EDGE_SECRET,
    BASE_URL: "https://api.example.org",
    TIMERS_IN_ORIGIN: "false",
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  services = await openServices(config, pino({ level: "info" }, sink));
  const app = createApp(services);
  const hono = getRequestListener(app.fetch, { hostname: "127.0.0.1" });
  const direct = directCheckIn(services);
  honoOnly = createServer(hono);
  withDirect = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (direct(req, res) !== null) return;
    passedOn++;
    void hono(req, res);
  });
  honoPort = await listen(honoOnly);
  directPort = await listen(withDirect);
});

afterAll(async () => {
  await Promise.all([honoOnly, withDirect].map((s) => new Promise((r) => (s ? s.close(r) : r(null)))));
  if (services) await closeServices(services);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Raw {
  status: number;
  /** Header lines in the order sent, names as sent. */
  headers: [string, string][];
  body: string;
}

/** One request on a fresh connection, the answer read raw (up to Content-Length). */
function send(port: number, request: string | Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let data = Buffer.alloc(0);
    const done = () => {
      const text = data.toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers = lines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()] as [string, string]);
      const length = Number(headers.find(([k]) => k.toLowerCase() === "content-length")?.[1] ?? NaN);
      const body = data.subarray(Buffer.byteLength(text.slice(0, end + 4)));
      if (!(body.length >= length)) return false;
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: body.subarray(0, length).toString("utf8") });
      socket.destroy();
      return true;
    };
    socket.on("data", (d: Buffer) => {
      data = Buffer.concat([data, d]);
      done();
    });
    socket.on("error", reject);
    socket.on("close", () => done() || reject(new Error(`connection closed before a whole answer: ${data.toString()}`)));
    socket.write(request);
  });
}

function post(body: string | Buffer, headers: Record<string, string> = {}, target = "/api/v1/check-in"): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const all: Record<string, string> = { host: "127.0.0.1", "content-type": "application/json", "content-length": String(bytes.length), ...headers };
  const head = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return Buffer.concat([Buffer.from(`POST ${target} HTTP/1.1\r\n${head}connection: close\r\n\r\n`), bytes]);
}

const probe = JSON.stringify({
  charging: true, on_wifi: true, platform: "android", probe_asn: "AS0", probe_cc: "ZZ", run_type: "timed",
  software_name: "ooniprobe-android", software_version: "3.8.0", web_connectivity: { category_codes: [] },
});

/** What may differ between two answers to the same request: the date, a generated id, random draws. */
function comparable(r: Raw, reqIdGiven: boolean) {
  const headers = r.headers
    .filter(([k]) => k !== "Date")
    .map(([k, v]): [string, string] => [k, k === "Content-Length" && r.status === 200 ? "(length)" : k === "x-request-id" && !reqIdGiven ? "(generated)" : v]);
  let body: unknown = r.body;
  if (r.status === 200) {
    const a = JSON.parse(r.body) as { utc_time: string; tests: Record<string, { report_id: string; urls?: unknown[] }> };
    for (const t of Object.values(a.tests)) {
      expect(t.report_id).toMatch(/^\d{8}T\d{6}Z_[a-z]+_[A-Z]{2}_\d+_n\d+_[A-Za-z0-9]{16}$/);
      t.report_id = "(random)";
      // Which URLs is a random draw; how many is not.
      if (t.urls) (t as { urls: unknown }).urls = `${t.urls.length} urls`;
    }
    a.utc_time = "(time)";
    body = a;
  }
  return { status: r.status, headers, body };
}

let n = 0;
/** The same request to both servers; returns both answers after checking they agree. */
async function both(build: (reqId: string) => Buffer, opts: { reqIdGiven?: boolean } = {}) {
  const reqIdGiven = opts.reqIdGiven ?? true;
  const id = `t${++n}`;
  const viaHono = await send(honoPort, build(`${id}-hono`));
  const viaDirect = await send(directPort, build(`${id}-direct`));
  const strip = (r: Raw, suffix: string) => ({ ...r, headers: r.headers.map(([k, v]): [string, string] => [k, v.replace(suffix, "")]) });
  expect(comparable(strip(viaDirect, "-direct"), reqIdGiven)).toEqual(comparable(strip(viaHono, "-hono"), reqIdGiven));
  if (reqIdGiven) {
    const line = (rid: string) => {
      const l = logLines.find((x) => x.msg === "request" && x.req_id === rid);
      expect(l, `request log line for ${rid}`).toBeDefined();
      const { time: _t, ms, req_id: _r, ...rest } = l!;
      expect(typeof ms).toBe("number");
      return rest;
    };
    expect(line(`${id}-direct`)).toEqual(line(`${id}-hono`));
  }
  return { viaHono, viaDirect };
}

const rid = (id: string) => ({ "x-request-id": id });

describe("direct check-in answers as the hono route does", () => {
  it("a probe's check-in: 200, same headers in the same order, same answer but for the random parts", async () => {
    const before = passedOn;
    const { viaDirect } = await both((id) => post(probe, rid(id)));
    expect(passedOn).toBe(before); // answered by the direct handler
    const a = JSON.parse(viaDirect.body);
    expect(a).toMatchObject({ v: 1, probe_cc: "IT", probe_asn: "AS30722" });
    expect(a.tests.web_connectivity.urls.length).toBeGreaterThan(0);
    expect(Object.keys(a.tests)).toHaveLength(21);
  });

  it("CORS headers for an allowed origin, and only Vary for another", async () => {
    const before = passedOn;
    const { viaDirect } = await both((id) => post(probe, { ...rid(id), origin: "https://explorer.ooni.org" }));
    expect(viaDirect.headers).toContainEqual(["access-control-allow-origin", "https://explorer.ooni.org"]);
    const other = await both((id) => post(probe, { ...rid(id), origin: "https://evil.example" }));
    expect(other.viaDirect.headers.map(([k]) => k)).not.toContain("access-control-allow-origin");
    expect(passedOn).toBe(before);
  });

  it("X-Forwarded-For and the bridge only with the edge secret", async () => {
    const edge = { "x-ooni-edge-auth": EDGE_SECRET, "x-forwarded-for": "198.51.100.7", "x-ooni-bridge-host": "bridge.example.net" };
    const { viaDirect } = await both((id) => post(probe, { ...rid(id), ...edge }));
    const a = JSON.parse(viaDirect.body);
    expect(a).toMatchObject({ probe_cc: "US", probe_asn: "AS7922" });
    expect(JSON.stringify(a.conf.test_helpers)).toContain("https://bridge.example.net");
    expect(logLines.find((l) => l.req_id === `t${n}-direct`)).toMatchObject({ via_edge: true, status: 200 });

    const forged = await both((id) => post(probe, { ...rid(id), ...edge, "x-ooni-edge-auth": "wrong" }));
    const f = JSON.parse(forged.viaDirect.body);
    expect(f).toMatchObject({ probe_cc: "IT" });
    expect(JSON.stringify(f.conf.test_helpers)).not.toContain("bridge.example.net");
  });

  it("the probe's own country and network, category filters, manual runs", async () => {
    for (const body of [
      { probe_cc: "US", probe_asn: "AS7922", charging: false },
      { probe_cc: "it", probe_asn: "as30722", web_connectivity: { category_codes: ["NEWS", "HUMR"] } },
      { probe_cc: "IT", probe_asn: "AS30722", web_connectivity: { category_codes: "NEWS,HUMR" } },
      { run_type: "manual", web_connectivity: null },
      { probe_cc: "IT", probe_asn: "AS30722", unknown_field: { nested: [1, 2] } },
    ]) {
      await both((id) => post(JSON.stringify(body), rid(id)));
    }
  });

  it("the same 4xx JSON for bodies that are not a valid check-in", async () => {
    const before = passedOn;
    for (const body of [
      "{nope", "[]", "null", "1", '"text"',
      JSON.stringify({ probe_cc: "ITA" }),
      JSON.stringify({ probe_asn: "30722" }),
      JSON.stringify({ probe_asn: "AS4294967296" }), // the regex passes, the range does not
      JSON.stringify({ charging: "yes" }),
      JSON.stringify({ web_connectivity: { category_codes: ["N-E-W-S"] } }),
      JSON.stringify({ platform: "x".repeat(101) }),
    ]) {
      const { viaDirect } = await both((id) => post(body, rid(id)));
      expect(viaDirect.status, body).toBe(400);
      expect(JSON.parse(viaDirect.body).error, body).toMatch(/^(invalid |Malformed JSON)/);
    }
    // A byte-order mark before the JSON, bytes that are not UTF-8: decoded as hono decodes them.
    await both((id) => post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(probe)]), rid(id)));
    await both((id) => post(Buffer.from('{"platform":"\xff\xfe"}', "latin1"), rid(id)));
    expect(passedOn).toBe(before);
  });

  it("an unusable request id is replaced in both", async () => {
    const { viaDirect } = await both(() => post(probe, rid("x".repeat(65))), { reqIdGiven: false });
    expect(viaDirect.headers.find(([k]) => k === "x-request-id")?.[1]).toMatch(/^[0-9a-f-]{36}$/);
    await both(() => post(probe, rid("has space")), { reqIdGiven: false });
  });

  it("leaves to the app what is not a plain check-in: other media types, chunked, oversized, empty, a query, other methods", async () => {
    const cases: [string, () => Buffer | string][] = [
      ["text/plain", () => post(probe, { "content-type": "text/plain" })],
      ["empty", () => post("")],
      ["oversized", () => post(" ".repeat(64 * 1024 + 1))],
      ["query", () => post(probe, {}, "/api/v1/check-in?x=1")],
      ["GET", () => "GET /api/v1/check-in HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"],
      [
        "chunked",
        () =>
          `POST /api/v1/check-in HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n` +
          `${probe.length.toString(16)}\r\n${probe}\r\n0\r\n\r\n`,
      ],
    ];
    for (const [name, build] of cases) {
      const before = passedOn;
      const viaHono = await send(honoPort, build());
      const viaDirect = await send(directPort, build());
      expect(passedOn, name).toBe(before + 1);
      expect(viaDirect.status, name).toBe(viaHono.status);
    }
  });

  it("counts every answer in the request metrics under the route's label", async () => {
    const count = async () =>
      ((await metrics.httpRequests.get()).values.find((v) => v.labels.route === "/api/v1/check-in" && v.labels.status === "200" && v.labels.method === "POST")?.value ?? 0);
    const before = await count();
    await send(directPort, post(probe));
    await send(directPort, post(probe));
    expect(await count()).toBe(before + 2);
  });

  it("leaves every check-in to the app (and its quota middleware) when check-in is metered", async () => {
    expect(services.quotas).not.toBeNull();
    const metered = directCheckIn({ ...services, config: { ...services.config, quotas: { ...services.config.quotas, exemptPaths: ["/health"] } } });
    const server = createServer((req, res) => {
      const answering = metered(req, res);
      res.writeHead(answering === null ? 200 : 500, { "content-length": "0" }).end();
    });
    const port = await listen(server);
    try {
      expect((await send(port, post(probe))).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
