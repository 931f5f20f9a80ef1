import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../support/free-port";
import { repoRoot } from "../../support/origin-process";

// The whole local stack exactly as `npm start` runs it (scripts/start.ts): origin with embedded
// chDB, the Worker under `wrangler dev` in workerd, and two real web-connectivity test helpers —
// on free loopback ports and a temp DATA_DIR so it cannot collide with a developer's stack.


describe("npm start: the whole system on embedded defaults", () => {
  let child: ChildProcess;
  let edge: string;
  let output = "";
  let echoPort = 0;
  let jsonHeadersUrl = "";
  const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-stack-"));

  beforeAll(async () => {
    const [originPort, edgePort, h0, h1, jsonHeaders, echo] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    echoPort = echo;
    jsonHeadersUrl = `http://127.0.0.1:${jsonHeaders}`;
    const config = readFileSync(path.join(repoRoot, "bridge-config/bridge.toml"), "utf8")
      .replace("http://127.0.0.1:8790", `http://127.0.0.1:${h0}`)
      .replace("http://127.0.0.1:8791", `http://127.0.0.1:${h1}`)
      .replace("http://127.0.0.1:8792", jsonHeadersUrl);
    writeFileSync(path.join(dir, "bridge.toml"), config);
    child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: path.join(dir, "data"),
        ORIGIN_PORT: String(originPort),
        EDGE_PORT: String(edgePort),
        BRIDGE_CONFIG: path.join(dir, "bridge.toml"),
        LOG_LEVEL: "warn",
        // Port 80 (what the probe dials) may be taken on a shared machine; the helper is the same.
        TCP_ECHO_PORT: String(echo),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 150_000;
    while (!output.includes("ooni-edge is running")) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start not ready in time:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    edge = `http://127.0.0.1:${edgePort}`;
  }, 180_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("serves robots.txt at the edge for any Host", async () => {
    const res = await fetch(`${edge}/robots.txt`, { headers: { Host: "anything-at-all.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toContain("Disallow: /api/_");
  });

  it("answers /health from the origin through the edge", async () => {
    const res = await fetch(`${edge}/health`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("ok");
  });

  it("routes a probe's control request to one of the real test helpers and gets a valid answer", async () => {
    const res = await fetch(`${edge}/`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "ooniprobe-cli/3.31.0 ooniprobe-engine/3.31.0" },
      body: JSON.stringify({
        http_request: "http://127.0.0.1:9/",
        http_request_headers: { "User-Agent": ["Mozilla/5.0"] },
        tcp_connect: ["127.0.0.1:9"],
        x_quic_enabled: false,
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ooni-helper")).toMatch(/^local-[01]$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      ["dns", "http3_request", "http_request", "ip_info", "quic_handshake", "tcp_connect", "tls_handshake"].sort(),
    );
    // Loopback is a bogon for a production helper: reported in ip_info, never connected to.
    expect((body.ip_info as Record<string, { flags: number }>)["127.0.0.1"]!.flags & 4).toBe(4);
  });

  it("runs the legacy helpers and advertises them through the edge", async () => {
    const list = (await (await fetch(`${edge}/api/v1/test-helpers`)).json()) as Record<string, { address: string; type: string }[]>;
    expect(list["tcp-echo"]).toEqual([{ address: "127.0.0.1", type: "legacy" }]);
    expect(list["http-return-json-headers"]).toEqual([{ address: jsonHeadersUrl, type: "legacy" }]);
    const answer = (await (await fetch(jsonHeadersUrl, { headers: { "X-Probe": "1" } })).json()) as { request_line: string; headers_dict: Record<string, string[]> };
    expect(answer.request_line).toBe("GET / HTTP/1.1");
    expect(Object.entries(answer.headers_dict).find(([k]) => k.toLowerCase() === "x-probe")?.[1]).toEqual(["1"]);
    const echoed = await new Promise<string>((resolve, reject) => {
      const sock = net.connect({ host: "127.0.0.1", port: echoPort }, () => sock.write("XYZW / HTTP/1.1\n\r"));
      sock.once("data", (d) => {
        sock.destroy();
        resolve(d.toString("latin1"));
      });
      sock.once("error", reject);
    });
    expect(echoed).toBe("XYZW / HTTP/1.1\n\r");
  });

  it("stops every process on SIGTERM", async () => {
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await expect(fetch(`${edge}/robots.txt`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  }, 60_000);
});
