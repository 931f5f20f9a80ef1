import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withNewVersion } from "../../../origin/src/anoncred/keys";
import { WorkerPool } from "../../../origin/src/anoncred/pool";
import { anonCredPython, ReferenceClient, SKIP_MESSAGE } from "../../support/anoncred-client";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";

// Production: two origin hosts share the key ring through ANONC_KEYS_SECRET. They publish the same
// manifest, and a credential registered at one verifies at the other (a probe's requests land on
// whichever host the bridge picks).

const python = anonCredPython();
if (!python) console.warn(`anoncred multi-host: SKIPPED — ${SKIP_MESSAGE}`);

let a: OriginProcess;
let b: OriginProcess;
let client: ReferenceClient;

async function post(o: OriginProcess, p: string, body: unknown) {
  const res = await fetch(`${o.url}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

describe.skipIf(!python)("two origin hosts, one key ring from the environment", () => {
  beforeAll(async () => {
    const pool = new WorkerPool({ python: python!, size: 1, timeoutMs: 15_000 });
    const keys = await pool.call<{ public_parameters: string; secret_key: string }>("keygen").finally(() => pool.close());
    const env = { ANONC_ENABLED: "true", ANONC_PYTHON: python!, ANONC_WORKERS: "1", ANONC_TIMEOUT_MS: "30000", ANONC_KEYS_SECRET: JSON.stringify(withNewVersion(null, keys)) };
    [a, b] = await Promise.all([startOriginProcess({ env }), startOriginProcess({ env })]);
    client = new ReferenceClient(python!);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    a?.cleanup();
    b?.cleanup();
  });

  it("same manifest on both; registered at one host, verified at the other", async () => {
    const [ma, mb] = await Promise.all([a, b].map(async (o) => (await fetch(`${o.url}/api/v1/manifest`)).json() as Promise<any>));
    expect(ma.manifest).toEqual(mb.manifest);
    expect(ma.meta.version).toBe(mb.meta.version);

    await client.call("new", { user: "p", pp: ma.manifest.public_parameters });
    const reg = await post(a, "/api/v1/sign_credential", { manifest_version: ma.meta.version, credential_sign_request: await client.call("registration_request", { user: "p" }) });
    expect(reg.status).toBe(200);
    await client.call("registration_response", { user: "p", resp: reg.json.credential_sign_response });

    const content = JSON.stringify({ probe_cc: "IT", probe_asn: "AS30722", software_name: "x", software_version: "1", test_name: "web_connectivity", test_start_time: "2026-01-01 00:00:00", measurement_start_time: "2026-01-01 00:00:00", test_keys: {} });
    const policy = ma.manifest.submission_policy.at(-1).policy;
    const proof = await client.call<{ nym: string; request: string }>("submit_request", { user: "p", cc: "IT", asn: "AS30722", content, age: policy.age, min_count: policy.min_measurement_count });
    const r = await post(b, "/api/v1/submit_measurement", { format: "json", content, nym: proof.nym, zkp_request: proof.request, manifest_version: ma.meta.version, protocol_version: ma.meta.protocol_version });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ verification_status: "verified", error: null });
    await client.call("submit_response", { user: "p", resp: r.json.submit_response });
  });
});
