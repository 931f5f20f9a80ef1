import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, startOriginProcess, type OriginProcess } from "../../support/origin-process";

// A machine without ooniauth-py (no venv, no ANONC_PYTHON): the origin starts all the same, says
// that credentials are off and what to install, answers the credential routes with JSON (404 for
// the manifest, which makes a probe submit without a credential; 503 for the others), and stores
// credentialed submissions as unverified. With ANONC_ENABLED=true it refuses to start instead.
// Needs no Python, so it runs everywhere.

const home = mkdtempSync(path.join(tmpdir(), "anoncred-nohome-"));
let origin: OriginProcess;

beforeAll(async () => {
  origin = await startOriginProcess({ env: { HOME: home, LOG_LEVEL: "info", QUOTAS_ENABLED: "false" } });
}, 90_000);
afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
  rmSync(home, { recursive: true, force: true });
});

async function call(p: string, body?: unknown) {
  const res = await fetch(`${origin.url}${p}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe("anonymous credentials off (ooniauth-py not installed)", () => {
  it("says so at start, and what to install", () => {
    const line = origin.logs.find((l) => l.includes("anonymous credentials are OFF"));
    expect(line).toBeDefined();
    expect(line).toContain("ooniauth-py not found");
    expect(line).toContain("npm run anoncred:install");
  });

  it("answers the credential routes with JSON errors, never a 5xx but the documented 503", async () => {
    expect(await call("/api/v1/manifest")).toMatchObject({ status: 404, json: { error: "anonymous_credentials_off" } });
    expect(await call("/api/v1/sign_credential", { manifest_version: "1", credential_sign_request: "AAAA" })).toMatchObject({
      status: 503,
      json: { error: "anonymous_credentials_off" },
    });
    expect(await call("/api/v1/update_credential", { old_manifest_version: "1", manifest_version: "2", update_request: "AAAA" })).toMatchObject({
      status: 503,
      json: { error: "anonymous_credentials_off" },
    });
  });

  it("stores a credentialed submission as unverified", async () => {
    const content = JSON.stringify({
      probe_asn: "AS30722",
      probe_cc: "IT",
      software_name: "ooniprobe-interop",
      software_version: "1.0.0",
      test_name: "web_connectivity",
      test_start_time: "2026-01-01 00:00:00",
      measurement_start_time: "2026-01-01 00:00:00",
      test_keys: {},
    });
    const r = await call("/api/v1/submit_measurement", { format: "json", content, nym: "AAAA", zkp_request: "AAAA", manifest_version: "1", protocol_version: "0.1.0" });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ verification_status: "unverified", error: "anonymous_credentials_off", submit_response: null });
    expect(r.json.measurement_uid).toMatch(/_IT_webconnectivity_/);
  });

  it("with ANONC_ENABLED=true the origin refuses to start, naming what is missing", () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "anoncred-strict-"));
    try {
      const r = spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), "serve", "--port", "0"], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? "", HOME: home, DATA_DIR: dataDir, ANONC_ENABLED: "true", LOG_LEVEL: "warn" },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/anonymous credentials: ooniauth-py not found; install ooniauth-py/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
