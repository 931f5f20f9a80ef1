import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { openTempDb } from "../fastpath-pipeline/helpers";
import { anonCredPython, ReferenceClient, SKIP_MESSAGE } from "../../support/anoncred-client";
import { waitForFastpath } from "../../support/ledger";
import { repoRoot, startOriginProcess, type OriginProcess } from "../../support/origin-process";

// Interop with the reference implementation: ooniauth-py's UserState (the client half of the
// protocol OONI's probes link) registers, submits and updates its credential against the real
// origin over HTTP. Then the adversarial cases: every refusal is a 4xx JSON where the protocol
// answers one (sign_credential, update_credential), and every submission is stored and answered
// 200 whatever its proof — marked verified, failed or unverified. At the end the origin is stopped
// and the fastpath table is read: every acknowledged measurement has its row, with the verdict the
// answer announced.

const python = anonCredPython();
if (!python) console.warn(`anoncred interop: SKIPPED — ${SKIP_MESSAGE}`);

const CC = "IT";
const ASN = "AS30722";
let origin: OriginProcess;
let client: ReferenceClient;
let configDir: string;
const dataDir = mkdtempSync(path.join(tmpdir(), "anoncred-interop-"));
/** Every acknowledged submission: uid → the is_verified letter its answer announced. */
const acknowledged = new Map<string, "t" | "f" | "u">();

let n = 0;
function measurement(cc = CC, asn = ASN): string {
  n++;
  return JSON.stringify({
    annotations: { platform: "linux" },
    data_format_version: "0.2.0",
    input: `https://example.org/${n}`,
    measurement_start_time: "2026-01-01 00:00:00",
    probe_asn: asn,
    probe_cc: cc,
    probe_ip: "127.0.0.1",
    report_id: "",
    software_name: "ooniprobe-interop",
    software_version: "1.0.0",
    test_keys: { accessible: true, blocking: false },
    test_name: "web_connectivity",
    test_runtime: 1.5,
    test_start_time: "2026-01-01 00:00:00",
    test_version: "0.4.3",
  });
}

async function call(p: string, body?: unknown) {
  const res = await fetch(`${origin.url}${p}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { unparsable: text };
  }
  return { status: res.status, json };
}

interface Manifest {
  manifest: { public_parameters: string; submission_policy: { policy: { age: [number, number]; min_measurement_count: number }; match: { probe_cc: string; probe_asn: string } }[] };
  meta: { version: string; protocol_version: string };
}

async function manifest(): Promise<Manifest> {
  const m = await call("/api/v1/manifest");
  expect(m.status).toBe(200);
  return m.json as Manifest;
}

async function register(user: string, m: Manifest): Promise<void> {
  await client.call("new", { user, pp: m.manifest.public_parameters });
  const req = await client.call<string>("registration_request", { user });
  const r = await call("/api/v1/sign_credential", { manifest_version: m.meta.version, credential_sign_request: req });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  expect(r.json.emission_day).toBeGreaterThan(2_400_000);
  await client.call("registration_response", { user, resp: r.json.credential_sign_response });
}

const ALL = { age: [2451545, 2826140], min_count: 0 };

/** Submits `content` with a proof made by `user` (for proofCc/proofAsn/proofContent, default: the same). */
async function submit(
  user: string,
  m: Manifest,
  content: string,
  over: { proofCc?: string; proofAsn?: string; proofContent?: string; fields?: Record<string, unknown>; minCount?: number } = {},
) {
  const proof = await client.call<{ nym: string; request: string }>("submit_request", {
    user,
    cc: over.proofCc ?? CC,
    asn: over.proofAsn ?? ASN,
    content: over.proofContent ?? content,
    age: ALL.age,
    min_count: over.minCount ?? ALL.min_count,
  });
  const body = {
    format: "json",
    content,
    nym: proof.nym,
    zkp_request: proof.request,
    manifest_version: m.meta.version,
    protocol_version: m.meta.protocol_version,
    ...over.fields,
  };
  return send(body);
}

async function send(body: unknown) {
  const r = await call("/api/v1/submit_measurement", body);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  expect(r.json.measurement_uid).toMatch(/^\d{14}\.\d{6}_[A-Z]{2}_webconnectivity_[0-9a-f]{16}$/);
  const code = r.json.verification_status === "verified" ? "t" : r.json.verification_status === "failed" ? "f" : "u";
  acknowledged.set(r.json.measurement_uid, code);
  return r.json as { measurement_uid: string; verification_status: string; submit_response: string | null; error: string | null; report_id: string };
}

describe.skipIf(!python)("anonymous credentials: the reference client against our server", () => {
  beforeAll(async () => {
    // The fixture policy plus a stricter rule for one network: DE needs a credential with at
    // least one earlier measurement.
    configDir = mkdtempSync(path.join(tmpdir(), "anoncred-config-"));
    cpSync(path.join(repoRoot, "origin/fixtures/probe"), configDir, { recursive: true });
    writeFileSync(
      path.join(configDir, "manifest.json"),
      JSON.stringify({
        manifest: {
          nym_scope: "ooni.org/{probe_cc}/{probe_asn}",
          submission_policy: [
            { match: { probe_cc: "DE", probe_asn: "*" }, policy: { age: ALL.age, min_measurement_count: 1 } },
            { match: { probe_cc: "*", probe_asn: "*" }, policy: { age: ALL.age, min_measurement_count: 0 } },
          ],
        },
      }),
    );
    origin = await startOriginProcess({
      dataDir,
      env: { ANONC_ENABLED: "true", ANONC_PYTHON: python!, ANONC_WORKERS: "2", ANONC_TIMEOUT_MS: "30000", PROBE_CONFIG_DIR: configDir, FASTPATH_FLUSH_MS: "200", QUOTAS_ENABLED: "false" },
    });
    client = new ReferenceClient(python!);
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await origin?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it("publishes versioned public parameters and the policy in the manifest", async () => {
    const m = await manifest();
    expect(m.meta.version).toBe("1");
    expect(m.meta.protocol_version).toBe(await client.call("protocol_version"));
    expect(m.manifest.public_parameters).toMatch(/^[A-Za-z0-9+/=]{100,}$/);
    expect(m.manifest.submission_policy.at(-1)!.match).toEqual({ probe_cc: "*", probe_asn: "*" });
  });

  it("registers, submits verified measurements, and the credential carries on from each answer", async () => {
    const m = await manifest();
    await register("alice", m);
    for (let i = 0; i < 3; i++) {
      const a = await submit("alice", m, measurement());
      expect(a).toMatchObject({ verification_status: "verified", error: null });
      expect(a.report_id).toMatch(/_webconnectivity_IT_30722_/);
      // The reference client accepts our answer: its credential now counts one more measurement.
      await client.call("submit_response", { user: "alice", resp: a.submit_response });
    }
  });

  it("both directions: a credential issued by the reference server verifies here, and one issued here verifies there", async () => {
    const m = await manifest();
    const ring = JSON.parse(readFileSync(path.join(dataDir, "secrets", "anoncred-keys.json"), "utf8")) as { versions: { public_parameters: string; secret_key: string }[] };
    const key = ring.versions.at(-1)!;
    expect(key.public_parameters).toBe(m.manifest.public_parameters);
    await client.call("server", { server: "ref", pp: key.public_parameters, sk: key.secret_key });

    // Registered by the reference server, submitted here.
    await client.call("new", { user: "ref-made", pp: m.manifest.public_parameters });
    const resp = await client.call<string>("server_register", { server: "ref", request: await client.call("registration_request", { user: "ref-made" }) });
    await client.call("registration_response", { user: "ref-made", resp });
    expect((await submit("ref-made", m, measurement())).verification_status).toBe("verified");

    // Registered here, its proof checked by the reference server; and our submit_response, taken by
    // the client, yields a credential the reference server accepts in turn.
    await register("here-made", m);
    const content = measurement();
    const proof = await client.call<{ nym: string; request: string }>("submit_request", { user: "here-made", cc: CC, asn: ASN, content, ...ALL });
    const refAnswer = await client.call<string>("server_submit", { server: "ref", nym: proof.nym, request: proof.request, cc: CC, asn: ASN, content, ...ALL });
    await client.call("submit_response", { user: "here-made", resp: refAnswer });
    const ours = await submit("here-made", m, measurement());
    expect(ours.verification_status).toBe("verified");
    await client.call("submit_response", { user: "here-made", resp: ours.submit_response });
    const again = await client.call<{ nym: string; request: string }>("submit_request", { user: "here-made", cc: CC, asn: ASN, content, ...ALL });
    await client.call("server_submit", { server: "ref", nym: again.nym, request: again.request, cc: CC, asn: ASN, content, ...ALL });
  });

  it("applies the first matching policy entry: DE needs one earlier measurement", async () => {
    const m = await manifest();
    await register("dora", m);
    // A fresh credential cannot prove count >= 1; claiming the looser catch-all rule is refused.
    const lying = await submit("dora", m, measurement("DE", "AS3320"), { proofCc: "DE", proofAsn: "AS3320", minCount: 0 });
    expect(lying).toMatchObject({ verification_status: "failed", error: "protocol_error", submit_response: null });
    // After one verified measurement elsewhere, the same credential meets DE's rule.
    const first = await submit("dora", m, measurement());
    expect(first.verification_status).toBe("verified");
    await client.call("submit_response", { user: "dora", resp: first.submit_response });
    const de = await submit("dora", m, measurement("DE", "AS3320"), { proofCc: "DE", proofAsn: "AS3320", minCount: 1 });
    expect(de.verification_status).toBe("verified");
  });

  it("adversarial submissions are stored and marked, never refused, never a 5xx", async () => {
    const m = await manifest();
    await register("mallory", m);
    const content = measurement();
    // Another measurement's proof (a replayed proof): the hash does not match.
    const replayed = await submit("mallory", m, measurement(), { proofContent: content });
    expect(replayed).toMatchObject({ verification_status: "failed", submit_response: null });
    // A proof for another country, and for another network.
    expect((await submit("mallory", m, measurement(), { proofCc: "FR" })).verification_status).toBe("failed");
    expect((await submit("mallory", m, measurement(), { proofAsn: "AS1" })).verification_status).toBe("failed");
    // Forged: a well-formed but random proof, and garbage that is not base64 at all.
    const forged = Buffer.alloc(300, 7).toString("base64");
    expect(await submit("mallory", m, measurement(), { fields: { zkp_request: forged } })).toMatchObject({ verification_status: "failed", error: "deserialization_failed" });
    expect(await submit("mallory", m, measurement(), { fields: { nym: "!!!not base64!!!", zkp_request: "%%%" } })).toMatchObject({ verification_status: "failed" });
    // Stale or unknown public parameters, and incomplete or mistyped fields: unverified.
    expect(await submit("mallory", m, measurement(), { fields: { manifest_version: "0" } })).toMatchObject({ verification_status: "unverified", error: "manifest_not_found" });
    expect(await submit("mallory", m, measurement(), { fields: { protocol_version: null } })).toMatchObject({ verification_status: "unverified", error: "incomplete_anonc_fields" });
    expect(await submit("mallory", m, measurement(), { fields: { nym: 12345 } })).toMatchObject({ verification_status: "unverified", error: "incomplete_anonc_fields" });
    expect(await submit("mallory", m, measurement(), { fields: { protocol_version: "0.0.1" } })).toMatchObject({ verification_status: "unverified", error: "protocol_version_too_old" });
    expect(await submit("mallory", m, measurement(), { fields: { protocol_version: "v1;drop" } })).toMatchObject({ verification_status: "unverified", error: "invalid_protocol_version" });
    // No credential at all: the ordinary unverified submission.
    expect(await send({ format: "json", content: measurement(), nym: null, zkp_request: null, manifest_version: null, protocol_version: null })).toMatchObject({
      verification_status: "unverified",
      error: null,
    });
    // The whole verified body sent again (a replay): stored again, as any resubmission without a
    // report_id is, but the spent proof does not vouch for the copy.
    const body = { format: "json", content: measurement() };
    const proof = await client.call<{ nym: string; request: string }>("submit_request", { user: "mallory", cc: CC, asn: ASN, content: body.content, ...ALL });
    const full = { ...body, nym: proof.nym, zkp_request: proof.request, manifest_version: m.meta.version, protocol_version: m.meta.protocol_version };
    const once = await send(full);
    const twice = await send(full);
    expect(once.verification_status).toBe("verified");
    expect(twice).toMatchObject({ verification_status: "unverified", error: "replayed_proof", submit_response: null });
    expect(twice.measurement_uid).not.toBe(once.measurement_uid);
  });

  it("sign_credential refuses with upstream's 4xx codes, as JSON", async () => {
    const m = await manifest();
    const unknown = await call("/api/v1/sign_credential", { manifest_version: "999", credential_sign_request: "AAAA" });
    expect(unknown).toMatchObject({ status: 404, json: { error: "manifest_not_found" } });
    await client.call("new", { user: "other-keys", pp: m.manifest.public_parameters });
    const req = await client.call<string>("registration_request", { user: "other-keys" });
    const garbled = await call("/api/v1/sign_credential", { manifest_version: m.meta.version, credential_sign_request: `bad${req.slice(3)}` });
    expect(garbled).toMatchObject({ status: 400, json: { error: "deserialization_failed" } });
    const notB64 = await call("/api/v1/sign_credential", { manifest_version: m.meta.version, credential_sign_request: "***" });
    expect(notB64).toMatchObject({ status: 400, json: { error: "deserialization_failed" } });
    for (const bad of [{}, { manifest_version: m.meta.version }, { manifest_version: 1, credential_sign_request: "x" }, "not json", "[]"]) {
      const r = await call("/api/v1/sign_credential", bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(typeof r.json.error).toBe("string");
    }
    const huge = await call("/api/v1/sign_credential", { manifest_version: m.meta.version, credential_sign_request: "A".repeat(100_000) });
    expect(huge.status).toBe(413);
  });

  it("a key rotation: old credentials are unverified until updated, then verify under the new keys", async () => {
    const before = await manifest();
    await register("bob", before);
    const pre = await submit("bob", before, measurement());
    expect(pre.verification_status).toBe("verified");
    await client.call("submit_response", { user: "bob", resp: pre.submit_response });

    const rotate = spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), "anoncred", "rotate"], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: dataDir, ANONC_PYTHON: python! },
      encoding: "utf8",
    });
    expect(rotate.status, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/rotated: version 2 is current \(2 kept\)/);
    // The running origin notices the new ring within seconds, without a restart.
    let after = before;
    for (let i = 0; i < 100 && after.meta.version === before.meta.version; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await manifest();
    }
    expect(after.meta.version).toBe("2");
    expect(after.manifest.public_parameters).not.toBe(before.manifest.public_parameters);

    // Bob's credential under the old keys, with the old manifest version: stored, unverified.
    const stale = await submit("bob", before, measurement());
    expect(stale).toMatchObject({ verification_status: "unverified", error: "manifest_not_found" });

    // Update refusals: not the current version, an unknown old version, garbage.
    await client.call("set_public_params", { user: "bob", pp: after.manifest.public_parameters });
    const updReq = await client.call<string>("update_request", { user: "bob" });
    expect(await call("/api/v1/update_credential", { old_manifest_version: "1", manifest_version: "1", update_request: updReq })).toMatchObject({
      status: 404,
      json: { error: "manifest_not_found" },
    });
    expect(await call("/api/v1/update_credential", { old_manifest_version: "77", manifest_version: "2", update_request: updReq })).toMatchObject({
      status: 404,
      json: { error: "manifest_not_found" },
    });
    expect((await call("/api/v1/update_credential", { old_manifest_version: "1", manifest_version: "2", update_request: "@@@" })).status).toBe(400);

    // The update itself: bob keeps his credential (age and count) under the new keys.
    const upd = await call("/api/v1/update_credential", { old_manifest_version: "1", manifest_version: "2", update_request: updReq });
    expect(upd.status, JSON.stringify(upd.json)).toBe(200);
    await client.call("update_response", { user: "bob", resp: upd.json.update_response });
    const post = await submit("bob", after, measurement());
    expect(post).toMatchObject({ verification_status: "verified", error: null });
    await client.call("submit_response", { user: "bob", resp: post.submit_response });
    // A credential of the old keys that was never updated fails under the new ones.
    const carol = await submit("mallory", after, measurement());
    expect(carol.verification_status).toBe("failed");
  }, 60_000);

  it("every acknowledged measurement is in the fastpath table with the verdict its answer announced", async () => {
    // Operators see the verdicts and the workers' timing in /metrics.
    const scrape = await (await fetch(`${origin.url}/metrics`)).text();
    expect(scrape).toMatch(/^ooni_anoncred_verifications_total\{status="verified",reason="none"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^ooni_anoncred_verifications_total\{status="failed",reason="deserialization_failed"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^ooni_anoncred_verifications_total\{status="unverified",reason="replayed_proof"\} 1$/m);
    expect(scrape).toMatch(/^ooni_anoncred_seconds_count\{op="submit"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^ooni_anoncred_seconds_count\{op="register"\} [1-9]\d*$/m);
    await waitForFastpath(dataDir, 60_000);
    await origin.stop();
    const db = await openTempDb(dataDir);
    try {
      const rows = await queryRows<{ measurement_uid: string; is_verified: string }>(db, "SELECT measurement_uid, is_verified FROM fastpath FINAL");
      const stored = new Map(rows.map((r) => [r.measurement_uid, r.is_verified]));
      for (const [uid, code] of acknowledged) expect(stored.get(uid), uid).toBe(code);
      const counts = { t: 0, f: 0, u: 0 };
      for (const c of acknowledged.values()) counts[c]++;
      expect(counts.t).toBeGreaterThan(5);
      expect(counts.f).toBeGreaterThan(5);
      expect(counts.u).toBeGreaterThan(5);
    } finally {
      await db.close();
    }
  }, 90_000);
});
