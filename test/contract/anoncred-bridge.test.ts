import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { LookupFunction } from "node:net";
import path from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anonCredPython, ReferenceClient, SKIP_MESSAGE } from "../support/anoncred-client";
import { startOriginProcess, type OriginProcess } from "../support/origin-process";
import { startEdgeProcess, type EdgeProcess } from "./edge-process";
import { webConnectivityMeasurement } from "./probe-engine";

// A credentialed probe through the bridge: ooniauth-py's UserState (the reference client) fetches
// the manifest, registers and submits through the real edge Worker under `wrangler dev`, on a random
// hostname, and its measurements come back verified and are stored with the verdict.

const python = anonCredPython();
if (!python) console.warn(`anoncred through the bridge: SKIPPED — ${SKIP_MESSAGE}`);

const edgeSecret = randomBytes(24).toString("hex");
let origin: OriginProcess;
let edge: EdgeProcess;
let client: ReferenceClient;
let base: string;

const toLoopback = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
  opts?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4)) as unknown as LookupFunction;
const agent = new Agent({ connect: { lookup: toLoopback } });

async function call(p: string, body?: unknown) {
  const res = await undiciFetch(`${base}${p}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe.skipIf(!python)("anonymous credentials through the bridge", () => {
  beforeAll(async () => {
    origin = await startOriginProcess({ env: { EDGE_SHARED_SECRET: edgeSecret, ANONC_ENABLED: "true", ANONC_PYTHON: python!, ANONC_TIMEOUT_MS: "30000" } });
    edge = await startEdgeProcess({ originUrl: origin.url, edgeSecret });
    base = `http://${randomBytes(4).toString("hex")}.bridge-${randomBytes(3).toString("hex")}.example:${edge.port}`;
    client = new ReferenceClient(python!);
  }, 180_000);

  afterAll(async () => {
    client?.close();
    await edge?.stop();
    await origin?.stop();
    origin?.cleanup();
    await agent.close();
  });

  it("manifest → sign_credential → submit_measurement ×2: verified, and stored with the verdict", async () => {
    const m = await call("/api/v1/manifest");
    expect(m.status).toBe(200);
    const { public_parameters } = m.json.manifest;
    const { version, protocol_version } = m.json.meta;
    const policy = m.json.manifest.submission_policy.at(-1).policy;
    await client.call("new", { user: "probe", pp: public_parameters });
    const reg = await call("/api/v1/sign_credential", { manifest_version: version, credential_sign_request: await client.call("registration_request", { user: "probe" }) });
    expect(reg.status, JSON.stringify(reg.json)).toBe(200);
    await client.call("registration_response", { user: "probe", resp: reg.json.credential_sign_response });

    for (let i = 0; i < 2; i++) {
      const content = JSON.stringify(webConnectivityMeasurement("IT", "AS30722", `https://www.example.org/${i}`, "2026-01-01 00:00:00"));
      const proof = await client.call<{ nym: string; request: string }>("submit_request", {
        user: "probe",
        cc: "IT",
        asn: "AS30722",
        content,
        age: policy.age,
        min_count: policy.min_measurement_count,
      });
      const r = await call("/api/v1/submit_measurement", { format: "json", content, nym: proof.nym, zkp_request: proof.request, manifest_version: version, protocol_version });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json).toMatchObject({ verification_status: "verified", error: null });
      await client.call("submit_response", { user: "probe", resp: r.json.submit_response });
      // Stored with the verdict, the measurement string byte for byte.
      const uid: string = r.json.measurement_uid;
      const [ts, cc, test] = uid.split("_");
      const file = readFileSync(path.join(origin.dataDir, "spool", "incoming", `${ts!.slice(0, 10)}_${cc}_${test}`, `${uid}.post`), "utf8");
      expect(file).toBe(`{"format":"json","report_id":"${r.json.report_id}","is_verified":"t","content":${content}}`);
    }
  });
});
