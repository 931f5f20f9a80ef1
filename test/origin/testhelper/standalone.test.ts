// The lean standalone helper (origin/src/testhelper/main.ts) as it is deployed: bundled by
// scripts/build-testhelper.ts and run by plain node with TESTHELPER_NODE_FLAGS. It must answer
// exactly what the in-process helper answers, and must not drag the origin into its bundle.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestHelperWithInputs, TESTHELPER_NODE_FLAGS } from "../../../scripts/build-testhelper";
import { GeoIP } from "../../../origin/src/geoip/geoip";
import { startTestHelper, type RunningTestHelper } from "../../../origin/src/testhelper";
import { PAGE, postControl, startHttpTarget, type Target } from "./fixtures";

let bundle: string;
let inputs: string[];
let target: Target;
let inProcess: RunningTestHelper;
let child: ChildProcess;
let standaloneUrl: string;
let geoip: GeoIP;

function run(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [...TESTHELPER_NODE_FLAGS, bundle, ...args], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

beforeAll(async () => {
  ({ bundle, inputs } = await buildTestHelperWithInputs());
  target = await startHttpTarget();
  // The reference: the in-process helper with the ASN lookup `npm run cli -- testhelper serve` wires
  // (GeoIP over the repository's fixture databases, which the standalone one finds from its cwd).
  geoip = await GeoIP.open({ countryDb: "origin/fixtures/geoip/country.mmdb", asnDb: "origin/fixtures/geoip/asn.mmdb", watch: false });
  inProcess = await startTestHelper({ host: "127.0.0.1", port: 0, allowLoopback: true, lookupAsn: (ip) => geoip.lookup(ip).asn });
  child = run(["serve", "--port", "0"], { OONI_EDGE_TESTHELPER_ALLOW_LOOPBACK: "1" });
  standaloneUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      if (l.includes('"event":"listening"')) resolve((JSON.parse(l) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`standalone helper exited with ${code}`)));
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  await inProcess?.close();
  geoip?.close();
  await target?.close();
});

describe("standalone test helper (dist/testhelper/main.mjs)", () => {
  it("bundles the helper without the origin: no chDB, ClickHouse client, hono, config or undici", () => {
    expect(inputs.some((i) => i.startsWith("origin/src/testhelper/measure.ts"))).toBe(true);
    const heavy = inputs.filter((i) =>
      /node_modules\/(chdb|@clickhouse|hono|@hono|undici|lmdb|tsx)\/|origin\/src\/(config|app|server|db\/)|origin\/src\/testhelper\/app\.ts/.test(i),
    );
    expect(heavy).toEqual([]);
  });

  it("runs with the same node flags from npm run testhelper, the systemd unit and the bench", () => {
    const flags = TESTHELPER_NODE_FLAGS.join(" ");
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.testhelper).toContain(`node ${flags} dist/testhelper/main.mjs`);
    expect(readFileSync("deploy/systemd/ooni-edge-testhelper.service", "utf8")).toContain(`/usr/bin/node ${flags} dist/testhelper/main.mjs serve`);
  });

  it("says hello on GET", async () => {
    const res = await fetch(`${standaloneUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Hello OONItarian!" });
  });

  it("answers a control request exactly as the in-process helper does", async () => {
    const creq = {
      http_request: `http://localhost:${target.port}/`,
      http_request_headers: { "User-Agent": ["Mozilla/5.0"], Accept: ["text/html"] },
      tcp_connect: [`127.0.0.1:${target.port}`],
      x_quic_enabled: false,
    };
    const [ours, reference] = await Promise.all([postControl(standaloneUrl, creq), postControl(inProcess.url, creq)]);
    expect(ours.status).toBe(200);
    expect(ours.json).toEqual(reference.json);
    const answer = ours.json as {
      http_request: { status_code: number; body_length: number };
      tcp_connect: Record<string, { status: boolean }>;
      ip_info: Record<string, { asn: number }>;
    };
    // The fixture ASN database gives 127.0.0.1 an ASN: the standalone helper did look it up.
    expect(answer.ip_info["127.0.0.1"]!.asn).toBe(geoip.lookup("127.0.0.1").asn);
    expect(answer.ip_info["127.0.0.1"]!.asn).toBeGreaterThan(0);
    expect(answer.http_request.status_code).toBe(200);
    expect(answer.http_request.body_length).toBe(PAGE.length);
    expect(answer.tcp_connect[`127.0.0.1:${target.port}`]).toEqual({ status: true, failure: null });
  });

  it("refuses loopback targets unless told it is a test (OONI_EDGE_TESTHELPER_ALLOW_LOOPBACK)", async () => {
    const creq = { http_request: `http://127.0.0.1:${target.port}/`, tcp_connect: [`127.0.0.1:${target.port}`] };
    const allowed = (await postControl(standaloneUrl, creq)).json as { http_request: { status_code: number } };
    expect(allowed.http_request.status_code).toBe(200);
    const strict = run(["serve", "--port", "0"]);
    try {
      const url = await new Promise<string>((resolve) =>
        createInterface({ input: strict.stdout! }).on("line", (l) => l.includes("listening") && resolve((JSON.parse(l) as { url: string }).url)),
      );
      const refused = await postControl(url, creq);
      expect(refused.status).toBe(200);
      const json = refused.json as { tcp_connect: Record<string, unknown>; http_request: { failure: string | null; status_code: number } };
      expect(json.tcp_connect).toEqual({});
      expect(json.http_request.status_code).toBe(-1);
      expect(json.http_request.failure).not.toBeNull();
    } finally {
      strict.kill("SIGTERM");
    }
  });

  it.each([
    [["serve", "--port", "70000"], /--port/],
    [["listen"], /expected the command `serve`/],
    [["serve", "--doh-url", "ftp://x/"], /--doh-url/],
    [["serve", "--bogus"], /Unknown option/],
  ])("exits 2 with a usage message on %j", async (args, message) => {
    const p = run(args);
    let stderr = "";
    p.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => p.once("exit", r));
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: testhelper serve/);
  });
});
